// Outputs over HTTP: two workers with their own output folders (as on other machines) return their
// images to the server with POST /upload/image and the server's token. Both save under the same
// names locally; the server keeps every image under its own name, /history and `executed` name it,
// and /view serves the very bytes the worker wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson, stringifyJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { WsClient } from './harness.ts';
import { startCluster } from './workers-harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const TOKEN = 'upload-test-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

function txt2img(seed: number): ApiPrompt {
  const prompt = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
  Object.assign(prompt['5'].inputs, { width: 64, height: 64 });
  Object.assign(prompt['3'].inputs, { steps: 2, seed });
  Object.assign(prompt['9'].inputs, { filename_prefix: 'farm/img' });
  return prompt;
}

test('workers without a shared folder return their images over HTTP with the token', { timeout: 180_000 }, async () => {
  const cluster = await startCluster({ models: join(ROOT, 'models'), authToken: TOKEN });
  const { url, dirs } = cluster.server;
  const ws = await WsClient.connect(url, 'up', auth);
  try {
    const own = (name: string) => {
      const root = join(dirs.root, name);
      for (const sub of ['output', 'temp', 'input']) mkdirSync(join(root, sub), { recursive: true });
      return { output: join(root, 'output'), temp: join(root, 'temp'), input: join(root, 'input'), upload: { url, token: TOKEN } };
    };
    await Promise.all([cluster.addWorker(own('w1')), cluster.addWorker(own('w2'))]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${url}/prompt`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: stringifyJson({ prompt: txt2img(i), client_id: 'up' }) });
      assert.equal(res.status, 200);
      ids.push(((await res.json()) as { prompt_id: string }).prompt_id);
    }
    for (const id of ids) await ws.finished(id, 120_000);
    const history = (await (await fetch(`${url}/history`, { headers: auth })).json()) as Record<string, any>;
    const names = new Set<string>();
    for (const id of ids) {
      assert.equal(history[id].status.status_str, 'success', JSON.stringify(history[id].status));
      const [image] = history[id].outputs['9'].images;
      assert.equal(image.subfolder, 'farm');
      names.add(image.filename);
      const executed = ws.framesOf(id).find((f) => f.type === 'executed' && f.data.node === '9');
      assert.deepEqual((executed?.data.output as any).images[0], image, 'the executed frame names the server copy');
      const view = await fetch(`${url}/view?filename=${encodeURIComponent(image.filename)}&subfolder=farm&type=output`, { headers: auth });
      assert.equal(view.status, 200);
      assert.equal(view.headers.get('content-type'), 'image/png');
      const served = Buffer.from(await view.arrayBuffer());
      const local = ['w1', 'w2'].flatMap((w) => readdirSync(join(dirs.root, w, 'output', 'farm')).map((f) => readFileSync(join(dirs.root, w, 'output', 'farm', f))));
      assert.ok(local.some((bytes) => bytes.equals(served)), 'the server serves bytes a worker wrote');
    }
    assert.equal(names.size, 4, `four images kept under four names: ${[...names]}`);
    assert.equal(readdirSync(join(dirs.output, 'farm')).length, 4);

    // Without the token the server refuses the upload, and the prompt fails with that error.
    await Promise.all(cluster.workers.map((w) => w.stop()));
    await cluster.addWorker({ ...own('w3'), upload: { url } });
    const res = await fetch(`${url}/prompt`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: stringifyJson({ prompt: txt2img(9), client_id: 'up' }) });
    const bad = ((await res.json()) as { prompt_id: string }).prompt_id;
    await ws.finished(bad, 120_000);
    const error = ws.framesOf(bad).find((f) => f.type === 'execution_error');
    assert.match(String(error?.data.exception_message), /cannot return output\/farm\/img_00001_\.png to the server .*: 401/);
  } finally {
    ws.close();
    await cluster.close();
  }
});
