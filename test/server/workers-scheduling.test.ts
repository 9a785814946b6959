// Scheduling by warm checkpoints: two workers that each keep one checkpoint loaded, prompts for two
// checkpoints (the demo checkpoint under two names) in a mixed order. With the preference a prompt
// mostly starts on the worker that holds its checkpoint; the test measures and prints the hit rate,
// with and without the preference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { WorkerRegistry } from '../../engine/queue/index.ts';
import { makeDirs, queuePrompt, WsClient } from './harness.ts';
import { startCluster } from './workers-harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const ORDER = 'AABABBABAABBABBA';

function prompt(ckpt: string, seed: number): ApiPrompt {
  const p = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
  Object.assign(p['4'].inputs, { ckpt_name: ckpt });
  Object.assign(p['5'].inputs, { width: 64, height: 64 });
  Object.assign(p['3'].inputs, { steps: 2, seed });
  return p;
}

async function hitRate(models: string, affinityWaitMs: number): Promise<{ warm: number; cold: number }> {
  const cluster = await startCluster({ models, workerDefaults: { keepCheckpoints: 1, affinityWaitMs } });
  const ws = await WsClient.connect(cluster.server.url, 'sched');
  try {
    await Promise.all([cluster.addWorker(), cluster.addWorker()]);
    const ids: string[] = [];
    for (const [i, name] of [...ORDER].entries()) ids.push(await queuePrompt(cluster.server.url, prompt(`${name}.safetensors`, i), 'sched'));
    for (const id of ids) await ws.finished(id, 120_000);
    assert.deepEqual(ws.frames.filter((f) => f.type === 'execution_error').map((f) => f.data.exception_message), []);
    await new Promise((r) => setTimeout(r, 1500)); // one advertisement period
    const registry = new WorkerRegistry(cluster.redis.address, 'invgraph');
    const workers = await registry.live();
    registry.close();
    assert.equal(workers.length, 2);
    return {
      warm: workers.reduce((n, w) => n + w.warmStarts, 0),
      cold: workers.reduce((n, w) => n + w.coldStarts, 0),
    };
  } finally {
    ws.close();
    await cluster.close();
  }
}

test('prompts prefer the worker holding their checkpoint: hit rate with two checkpoints and two workers', { timeout: 240_000 }, async () => {
  const dirs = makeDirs();
  const models = join(dirs.root, 'models');
  mkdirSync(join(models, 'checkpoints'), { recursive: true });
  for (const name of ['A', 'B']) {
    for (const ext of ['safetensors', 'yaml']) copyFileSync(join(ROOT, `models/checkpoints/invgraph-demo-tiny.${ext}`), join(models, 'checkpoints', `${name}.${ext}`));
  }
  // A long wait measures the policy itself, not how fast this (shared, loaded) machine runs a prompt.
  const preferred = await hitRate(models, 10_000);
  const plain = await hitRate(models, 0);
  const rate = (r: { warm: number; cold: number }) => r.warm / (r.warm + r.cold);
  console.log(JSON.stringify({ prompts: ORDER.length, withPreference: { ...preferred, hitRate: rate(preferred) }, withoutPreference: { ...plain, hitRate: rate(plain) } }));
  assert.equal(preferred.warm + preferred.cold, ORDER.length);
  // Two or three first loads are unavoidable (both workers may start on A); nearly every other prompt stays warm.
  assert.ok(rate(preferred) >= 0.75, `hit rate ${rate(preferred)} with the preference`);
  assert.ok(rate(preferred) > rate(plain), `the preference is what keeps prompts warm (${rate(preferred)} vs ${rate(plain)})`);
});
