// Inputs over HTTP: a worker with its own folders (as on another machine) fetches the image a prompt's
// LoadImage names from the server's input folder with GET /view and the token, and fetches it again
// when the server's file is replaced under the same name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseJson, stringifyJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { WsClient } from './harness.ts';
import { startCluster } from './workers-harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const TOKEN = 'inputs-test-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

const png = (r: number, g: number, b: number) => sharp({ create: { width: 24, height: 16, channels: 3, background: { r, g, b } } }).png().toBuffer();

function resize(image: string): ApiPrompt {
  const prompt = parseJson(readFileSync(join(ROOT, 'workflows/image-resize.api.json'), 'utf8')) as ApiPrompt;
  Object.assign(prompt['1'].inputs, { image });
  Object.assign(prompt['2'].inputs, { width: 32, height: 32 });
  return prompt;
}

test('a worker without the shared input folder fetches the prompt\'s input image from the server', { timeout: 180_000 }, async () => {
  const cluster = await startCluster({ models: join(ROOT, 'models'), authToken: TOKEN });
  const { url, dirs } = cluster.server;
  const ws = await WsClient.connect(url, 'in', auth);
  try {
    const root = join(dirs.root, 'remote');
    for (const sub of ['output', 'temp', 'input']) mkdirSync(join(root, sub), { recursive: true });
    await cluster.addWorker({ output: join(root, 'output'), temp: join(root, 'temp'), input: join(root, 'input'), upload: { url, token: TOKEN } });

    const upload = async (bytes: Buffer, overwrite: boolean) => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(bytes)]), 'face.png');
      form.append('subfolder', 'faces');
      if (overwrite) form.append('overwrite', 'true');
      const res = await fetch(`${url}/upload/image`, { method: 'POST', body: form, headers: auth });
      assert.equal(res.status, 200);
      return ((await res.json()) as { name: string }).name;
    };
    const run = async (image: string) => {
      const res = await fetch(`${url}/prompt`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: stringifyJson({ prompt: resize(image), client_id: 'in' }) });
      assert.equal(res.status, 200, await res.clone().text());
      const id = ((await res.json()) as { prompt_id: string }).prompt_id;
      await ws.finished(id, 120_000);
      const history = (await (await fetch(`${url}/history/${id}`, { headers: auth })).json()) as Record<string, any>;
      assert.equal(history[id].status.status_str, 'success', JSON.stringify(history[id].status));
      const [out] = history[id].outputs['3'].images;
      const view = await fetch(`${url}/view?${new URLSearchParams({ filename: out.filename, subfolder: out.subfolder, type: 'output' })}`, { headers: auth });
      return (await sharp(Buffer.from(await view.arrayBuffer())).raw().toBuffer({ resolveWithObject: true })).data;
    };

    const red = await png(250, 10, 10);
    const name = await upload(red, false);
    const first = await run(`faces/${name}`);
    assert.ok(readFileSync(join(root, 'input', 'faces', name)).equals(red), 'the worker holds the server\'s bytes');
    assert.ok(first[0] > 200 && first[2] < 50, 'the output is made from the fetched (red) image');

    // Replaced on the server under the same name: the worker's copy follows.
    const blue = await png(10, 10, 250);
    assert.equal(await upload(blue, true), name);
    const second = await run(`faces/${name}`);
    assert.ok(readFileSync(join(root, 'input', 'faces', name)).equals(blue));
    assert.ok(second[2] > 200 && second[0] < 50, 'the output is made from the replaced (blue) image');
  } finally {
    ws.close();
    await cluster.close();
  }
});
