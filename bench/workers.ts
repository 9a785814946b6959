// Benchmark: prompts per second through `invgraph serve --queue` with 1, 2 and 3 CPU workers
// (`invgraph worker` processes) on a local redis-server, with the tiny demo model (txt2img).
// Prints JSON with the CPU model and SIMD flags. Workers share the machine's cores: on a machine
// with fewer cores than workers, more workers cannot add throughput (onnxruntime already uses every core).
// Usage: node --import tsx bench/workers.ts [--prompts 12] [--steps 4] [--size 64] [--workers 1,2,3]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '../cli/serve.ts';
import { parseJson, stringifyJson } from '../engine/graph/index.ts';
import type { ApiPrompt } from '../engine/graph/index.ts';
import { startTestRedis } from '../engine/queue/testing/redis-server.ts';
import { cpuInfo } from './cpu-info.ts';

const { values } = parseArgs({
  options: {
    prompts: { type: 'string', default: '12' },
    steps: { type: 'string', default: '4' },
    size: { type: 'string', default: '64' },
    workers: { type: 'string', default: '1,2,3' },
  },
});
const ROOT = new URL('..', import.meta.url).pathname;
const promptCount = Number(values.prompts);

function txt2img(seed: number): ApiPrompt {
  const prompt = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
  Object.assign(prompt['5'].inputs, { width: Number(values.size), height: Number(values.size) });
  Object.assign(prompt['3'].inputs, { steps: Number(values.steps), seed });
  return prompt;
}

async function runAll(url: string, count: number, seed0: number): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/prompt`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: stringifyJson({ prompt: txt2img(seed0 + i) }) });
    if (res.status !== 200) throw new Error(`POST /prompt answered ${res.status}: ${await res.text()}`);
    ids.push(((await res.json()) as { prompt_id: string }).prompt_id);
  }
  for (;;) {
    const history = (await (await fetch(`${url}/history`)).json()) as Record<string, { status: { status_str: string } }>;
    const done = ids.filter((id) => history[id]);
    const failed = done.filter((id) => history[id].status.status_str !== 'success');
    if (failed.length > 0) throw new Error(`prompt ${failed[0]} failed: ${JSON.stringify(history[failed[0]].status)}`);
    if (done.length === ids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const redis = await startTestRedis();
const root = mkdtempSync(join(tmpdir(), 'invgraph-bench-workers-'));
const folders = { models: join(ROOT, 'models'), input: join(root, 'input'), output: join(root, 'output'), temp: join(root, 'temp'), data: join(root, 'data') };
const server = await serve({ port: 0, queue: redis.url, staticDir: join(root, 'no-ui'), log: () => {}, ...folders });
const results: { workers: number; prompts: number; seconds: number; promptsPerSecond: number }[] = [];
const workers: ChildProcess[] = [];
try {
  for (const n of values.workers.split(',').map(Number)) {
    while (workers.length < n) {
      const child = spawn(process.execPath, [join(ROOT, 'bin/invgraph.mjs'), 'worker', '--queue', redis.url, '--device', 'cpu', '--models', folders.models, '--input', folders.input, '--output', folders.output, '--temp', folders.temp], { stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve) => child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('takes prompts') && resolve()));
      workers.push(child);
    }
    await runAll(server.url, n * 2, 1_000_000 * n); // every worker loads the model (warm-up, not timed)
    const started = performance.now();
    await runAll(server.url, promptCount, 2_000_000 * n);
    const seconds = (performance.now() - started) / 1000;
    results.push({ workers: n, prompts: promptCount, seconds: Number(seconds.toFixed(2)), promptsPerSecond: Number((promptCount / seconds).toFixed(3)) });
  }
} finally {
  for (const child of workers) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await server.close();
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'workers', model: 'invgraph-demo-tiny', size: Number(values.size), steps: Number(values.steps), cpu: cpuInfo(), results }, null, 2));
