// Many workers on one Redis queue (docs/server.md "Many workers"), with a real redis-server and
// `invgraph worker` processes: 3 workers run 60 prompts from 4 websocket clients while one worker is
// killed with -9 mid-run. Every prompt completes exactly once (one history entry, one end frame) and
// every client gets the frames of its own prompts only, whichever worker ran them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../engine/graph/index.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { getJson, queuePrompt, workPrompt, WsClient } from './harness.ts';
import { startCluster } from './workers-harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MIXED_REGISTRY = new URL('./mixed-nodes.ts', import.meta.url).href;

/** The shipped txt2img on the tiny demo model, small and short. */
function tinyTxt2img(seed: number): ApiPrompt {
  const prompt = parseJson(readFileSync(join(ROOT, 'workflows/txt2img.api.json'), 'utf8')) as ApiPrompt;
  Object.assign(prompt['5'].inputs, { width: 64, height: 64 });
  Object.assign(prompt['3'].inputs, { steps: 2, seed });
  return prompt;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('3 workers, 60 prompts from 4 clients, one worker killed -9 mid-run: each prompt once, each client its own frames', { timeout: 180_000 }, async () => {
  const cluster = await startCluster({ registryModule: MIXED_REGISTRY, models: join(ROOT, 'models') });
  const clients: WsClient[] = [];
  try {
    const { url } = cluster.server;
    for (let c = 0; c < 4; c++) clients.push(await WsClient.connect(url, `client-${c}`));
    const owner = new Map<string, number>();
    const realIndex = 7;
    // The worker to kill starts alone and takes the first prompt, a long one: it is certainly running
    // that prompt when it dies, however fast or slow this machine runs the others.
    const doomed = await cluster.addWorker();
    // Held until the test releases it (output/release-p0), at most 60 s.
    const long = workPrompt({ tag: 'p0', value: 0, ms: 60_000, steps: 600 });
    Object.assign(long['2'].inputs, { until_file: 'release-p0' });
    const longId = await queuePrompt(url, long, 'client-0');
    owner.set(longId, 0);
    const progressOfLong = () => clients[0].framesOf(longId).filter((f) => f.type === 'progress').length;
    await waitUntil('the first worker runs the long prompt', async () => progressOfLong() >= 1, 60_000);
    await Promise.all([cluster.addWorker(), cluster.addWorker()]);
    for (let i = 1; i < 60; i++) {
      const c = i % 4;
      const prompt = i === realIndex ? tinyTxt2img(i) : workPrompt({ tag: `p${i}`, value: i, ms: 150, steps: 3, preview: i % 10 === 0 });
      owner.set(await queuePrompt(url, prompt, `client-${c}`), c);
    }
    const historyCount = async () => Object.keys(await getJson(`${url}/history`)).length;
    // Mid-run: the others are under way and the long one is still held.
    await waitUntil('10 prompts are done', async () => (await historyCount()) >= 10, 90_000);
    assert.ok(!clients[0].framesOf(longId).some((f) => f.type === 'executing' && f.data.node === null), 'the long prompt is still running');
    await doomed.kill();
    writeFileSync(join(cluster.server.dirs.output, 'release-p0'), ''); // its rerun elsewhere ends at once

    for (const [id, c] of owner) await clients[c].finished(id, 120_000);
    const history = await getJson<Record<string, any>>(`${url}/history`);
    assert.deepEqual(Object.keys(history).sort(), [...owner.keys()].sort());
    for (const [id, entry] of Object.entries(history)) assert.equal(entry.status.status_str, 'success', `${id}: ${JSON.stringify(entry.status)}`);
    const queue = await getJson<any>(`${url}/queue`);
    assert.deepEqual([queue.queue_running.length, queue.queue_pending.length], [0, 0]);

    let restarted = 0;
    for (let c = 0; c < 4; c++) {
      const mine = new Set([...owner].filter(([, o]) => o === c).map(([id]) => id));
      const frames = clients[c].frames.filter((f) => typeof f.data.prompt_id === 'string');
      const strangers = frames.filter((f) => !mine.has(f.data.prompt_id as string));
      assert.deepEqual(strangers, [], `client-${c} got frames of other clients' prompts`);
      for (const id of mine) {
        const own = clients[c].framesOf(id);
        const ends = own.filter((f) => f.type === 'executing' && f.data.node === null);
        assert.equal(ends.length, 1, `${id}: one end-of-job frame`);
        const starts = own.filter((f) => f.type === 'execution_start').length;
        assert.ok(starts >= 1 && starts <= 2, `${id}: ${starts} starts`);
        if (starts === 2) restarted++;
        assert.ok(own.some((f) => f.type === 'executed'), `${id}: its executed frame`);
      }
    }
    // The killed worker's prompt ran again on another worker; no other prompt ran twice.
    assert.equal(clients[0].framesOf(longId).filter((f) => f.type === 'execution_start').length, 2, 'the killed worker\'s prompt ran again elsewhere');
    assert.equal(restarted, 1, `${restarted} prompts started twice`);
    // Previews of clients' prompts reached them as binary frames.
    assert.ok(clients[0].binary.length >= 1 && clients[2].binary.length >= 1);

    // Outputs went to the shared folder: every fake prompt wrote its file (a killed run may have written
    // once before dying), and the real prompt's PNG is served by the server's /view.
    const output = cluster.server.dirs.output;
    let lines = 0;
    for (let i = 0; i < 60; i++) {
      if (i === realIndex) continue;
      const n = readFileSync(join(output, `p${i}.txt`), 'utf8').trim().split('\n').length;
      assert.ok(n >= 1);
      lines += n;
    }
    assert.ok(lines <= 59 + 1, `${lines} output lines for 59 prompts and one kill`);
    const realId = [...owner.keys()][realIndex];
    const [image] = history[realId].outputs['9'].images;
    const view = await fetch(`${url}/view?filename=${image.filename}&subfolder=${image.subfolder}&type=output`);
    assert.equal(view.status, 200);
    assert.equal(view.headers.get('content-type'), 'image/png');
    assert.ok(readdirSync(output).some((name) => name.endsWith('.png')));
  } finally {
    for (const client of clients) client.close();
    await cluster.close();
  }
});
