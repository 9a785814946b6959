// ComfyUI's queue semantics across `invgraph worker`s on Redis: order and `front`, DELETE of a
// pending prompt, /queue showing every worker's running prompt, /interrupt reaching the worker that
// runs the prompt, a worker that cannot load a model failing the prompt (not itself), and queued
// prompts surviving a Redis kill -9 (AOF).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { getJson, postJson, queuePrompt, workPrompt, WsClient } from './harness.ts';
import { startCluster } from './workers-harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MIXED_REGISTRY = new URL('./mixed-nodes.ts', import.meta.url).href;

const slow = (tag: string, ms: number) => workPrompt({ tag, ms, steps: Math.max(1, Math.round(ms / 100)) });

test('queue semantics across workers on Redis', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster({ registryModule: MIXED_REGISTRY, models: join(ROOT, 'models') });
  const { url } = cluster.server;
  const ws = await WsClient.connect(url, 'sem');
  const history = (id: string) => getJson<Record<string, any>>(`${url}/history/${id}`).then((h) => h[id]);
  const started = () => ws.frames.filter((f) => f.type === 'execution_start').map((f) => f.data.prompt_id as string);
  try {
    const first = await cluster.addWorker({ device: 'cpu' });

    await t.test('/system_stats lists each live worker slot with its device', async () => {
      let devices: any[] = [];
      for (let i = 0; i < 30 && devices.length === 0; i++) {
        devices = (await getJson<any>(`${url}/system_stats`)).devices;
        if (devices.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(devices.length, 1);
      assert.equal(devices[0].type, 'cpu');
      assert.equal(devices[0].invgraph_worker.id, `${first.id}/0`);
      assert.equal(devices[0].invgraph_worker.busy, false);
    });

    await t.test('order and front follow ComfyUI; DELETE removes a pending prompt', async () => {
      const block = await queuePrompt(url, slow('block', 1500), 'sem');
      await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === block, 20_000);
      const a = await queuePrompt(url, workPrompt({ tag: 'a' }), 'sem');
      const b = await queuePrompt(url, workPrompt({ tag: 'b' }), 'sem');
      const c = await queuePrompt(url, workPrompt({ tag: 'c' }), 'sem', { front: true });
      const d = await queuePrompt(url, workPrompt({ tag: 'd' }), 'sem');
      assert.equal((await postJson(`${url}/queue`, { delete: [d] })).status, 200);
      const queue = await getJson<any>(`${url}/queue`);
      assert.deepEqual(queue.queue_running.map((j: any[]) => j[1]), [block]);
      assert.deepEqual(queue.queue_pending.map((j: any[]) => j[1]), [c, a, b]);
      await ws.finished(b, 20_000);
      assert.deepEqual(started().slice(-4), [block, c, a, b]);
      assert.equal(await history(d), undefined);
      assert.equal(existsSync(join(cluster.server.dirs.output, 'd.txt')), false);
    });

    await t.test('/queue shows every worker\'s running prompt; /interrupt stops only the one named', async () => {
      await cluster.addWorker();
      const x = await queuePrompt(url, slow('x', 20_000), 'sem');
      const y = await queuePrompt(url, slow('y', 3000), 'sem');
      await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === x, 20_000);
      await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === y, 20_000);
      const queue = await getJson<any>(`${url}/queue`);
      assert.deepEqual(queue.queue_running.map((j: any[]) => j[1]).sort(), [x, y].sort());
      await postJson(`${url}/interrupt`, { prompt_id: x });
      await ws.finished(x, 10_000);
      await ws.finished(y, 10_000);
      const [hx, hy] = [await history(x), await history(y)];
      assert.equal(hx.status.status_str, 'error');
      assert.ok(hx.status.messages.some((m: [string]) => m[0] === 'execution_interrupted'));
      assert.equal(hy.status.status_str, 'success');
      assert.equal(ws.framesOf(x).filter((f) => f.type === 'execution_interrupted').length, 1);
    });

    await t.test('a worker that cannot load the checkpoint fails the prompt with the error and keeps working', async () => {
      await Promise.all(cluster.workers.map((w) => w.stop()));
      const emptyModels = join(cluster.server.dirs.root, 'worker-models');
      mkdirSync(join(emptyModels, 'checkpoints'), { recursive: true });
      await cluster.addWorker({ models: emptyModels });
      const prompt = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
      const bad = await queuePrompt(url, prompt, 'sem');
      const next = await queuePrompt(url, workPrompt({ tag: 'after-bad' }), 'sem');
      await ws.finished(next, 30_000);
      const hb = await history(bad);
      assert.equal(hb.status.status_str, 'error');
      const error = ws.framesOf(bad).find((f) => f.type === 'execution_error');
      assert.match(String(error?.data.exception_message), /invgraph-demo-tiny\.safetensors/);
      assert.equal((await history(next)).status.status_str, 'success');
    });

    await t.test('--concurrency 2: one worker runs two prompts at once, as two slots; a bare /interrupt stops both', async () => {
      await Promise.all(cluster.workers.map((w) => w.stop()));
      const worker = await cluster.addWorker({ concurrency: 2 });
      const ids = [await queuePrompt(url, slow('k1', 20_000), 'sem'), await queuePrompt(url, slow('k2', 20_000), 'sem')];
      for (const id of ids) await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === id, 20_000);
      const queue = await getJson<any>(`${url}/queue`);
      assert.deepEqual(queue.queue_running.map((j: any[]) => j[1]).sort(), [...ids].sort());
      const slots = (await getJson<any>(`${url}/system_stats`)).devices.map((d: any) => d.invgraph_worker.id).sort();
      assert.deepEqual(slots, [`${worker.id}/0`, `${worker.id}/1`]);
      // /interrupt without a prompt id stops everything running, on every slot.
      await postJson(`${url}/interrupt`, {});
      for (const id of ids) await ws.finished(id, 20_000);
      for (const id of ids) assert.equal((await history(id)).status.status_str, 'error');
    });

    await t.test('queued prompts survive a Redis kill -9 and restart (AOF), then run', async () => {
      await Promise.all(cluster.workers.map((w) => w.stop()));
      const ids = [];
      for (const tag of ['r1', 'r2', 'r3']) ids.push(await queuePrompt(url, workPrompt({ tag }), 'sem'));
      await cluster.redis.restart();
      let pending: string[] = [];
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        pending = await getJson<any>(`${url}/queue`).then((q) => q.queue_pending.map((j: any[]) => j[1]), () => []);
        if (pending.length === 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(pending, ids);
      await cluster.addWorker();
      for (const id of ids) await ws.finished(id, 30_000);
      for (const id of ids) assert.equal((await history(id)).status.status_str, 'success');
    });
  } finally {
    ws.close();
    await cluster.close();
  }
});
