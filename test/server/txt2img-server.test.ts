// Text to image through the server with the real nodes and the tiny demo model: the queue stores the
// prompt as JSON and the worker must still get a SEED as a bigint (a small seed reads back as a number); progress frames and binary latent
// previews reach the submitting client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { getJson, queuePrompt, startTestServer, WsClient } from './harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

test('txt2img via POST /prompt: success, per-step progress, binary previews; /free unloads models between jobs', { timeout: 120_000 }, async () => {
  const server = await startTestServer({ registryModule: undefined, models: join(ROOT, 'models') });
  const ws = await WsClient.connect(server.url, 'painter');
  try {
    const prompt = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
    Object.assign(prompt['5'].inputs, { width: 64, height: 64 });
    Object.assign(prompt['3'].inputs, { steps: 3, seed: 7 });
    const id = await queuePrompt(server.url, prompt, 'painter');
    await ws.finished(id, 90_000);
    const entry = (await getJson<any>(`${server.url}/history/${id}`))[id];
    assert.equal(entry.status.status_str, 'success', JSON.stringify(entry.status));
    assert.equal(entry.outputs['9'].images.length, 1);
    const steps = ws.frames.filter((f: any) => f.type === 'progress' && f.data.node === '3').map((f: any) => f.data.value);
    assert.deepEqual(steps, [1, 2, 3]);
    assert.ok(ws.binary.length >= 3, `expected a preview per step, got ${ws.binary.length}`);
    assert.equal(ws.binary[0].readUInt32BE(0), 1, 'binary event type 1 = preview image');

    // POST /free unloads the models between jobs; the next prompt loads them again.
    const freed = await fetch(`${server.url}/free`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"unload_models": true}' });
    assert.equal(freed.status, 200);
    Object.assign(prompt['3'].inputs, { seed: 8 });
    const again = await queuePrompt(server.url, prompt, 'painter');
    await ws.finished(again, 90_000);
    const second = (await getJson<any>(`${server.url}/history/${again}`))[again];
    assert.equal(second.status.status_str, 'success', JSON.stringify(second.status));
  } finally {
    ws.close();
    await server.close();
  }
});
