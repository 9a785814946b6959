// Issue #12 item 3a: a job stuck inside one long native call (one synchronous slice that never
// yields, as a 4096x4096 onnxruntime run) must still stop on /interrupt: the host kills its
// execution process after the grace period, records the job as interrupted, and the next job runs
// on a fresh process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, postJson, queuePrompt, startTestServer, workPrompt, WsClient, type TestServer } from './harness.ts';

const GRACE_MS = 1500;
let server: TestServer;
before(async () => {
  server = await startTestServer({ interruptGraceMs: GRACE_MS });
});
after(() => server?.close());

type History = Record<string, { status: { status_str: string; messages: [string, Record<string, unknown>][] }; outputs: Record<string, unknown> }>;

test('an interrupt a stuck node never sees ends the job as interrupted after the grace period; the next job runs', { timeout: 120_000 }, async () => {
  const ws = await WsClient.connect(server.url, 'stuck');
  try {
    // One 60 s slice: the node never returns to the event loop, so the interrupt message waits.
    const stuck = await queuePrompt(server.url, workPrompt({ ms: 60_000, steps: 1, tag: 'stuck' }), 'stuck');
    await ws.waitFor((f) => f.type === 'executing' && f.data.node === '2' && f.data.prompt_id === stuck, 30_000);
    const sent = performance.now();
    assert.equal((await postJson(`${server.url}/interrupt`, {})).status, 200);
    const frame = await ws.waitFor((f) => f.type === 'execution_interrupted' && f.data.prompt_id === stuck, 30_000);
    const waited = performance.now() - sent;
    assert.ok(waited >= GRACE_MS - 50, `killed only after the grace period (${waited.toFixed(0)} ms)`);
    assert.ok(waited < 45_000, `long before the node's 60 s would end (${waited.toFixed(0)} ms)`);
    assert.equal(frame.data.node_id, '2');
    assert.equal(frame.data.node_type, 'FakeWork');
    assert.deepEqual(frame.data.executed, ['1']);
    await ws.finished(stuck, 30_000);
    const history = await getJson<History>(`${server.url}/history/${stuck}`);
    assert.equal(history[stuck].status.status_str, 'error');
    assert.deepEqual(history[stuck].status.messages.map((m) => m[0]), ['execution_start', 'execution_cached', 'execution_interrupted']);

    // The queue moves on: a fresh execution process runs the next prompt.
    const next = await queuePrompt(server.url, workPrompt({ ms: 10, tag: 'after' }), 'stuck');
    await ws.finished(next, 60_000);
    const nextHistory = await getJson<History>(`${server.url}/history/${next}`);
    assert.equal(nextHistory[next].status.status_str, 'success');
  } finally {
    ws.close();
  }
});
