// Issue #12 item 6: an interrupt sent while the execution worker is still starting was lost (the
// executor clears the flag as a job starts); it must end that job as interrupted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, queuePrompt, startTestServer, workPrompt, WsClient, type TestServer } from './harness.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ registryModule: new URL('./slow-start-nodes.ts', import.meta.url).href });
});
after(() => server?.close());

test('an interrupt sent before the worker is ready ends the job as interrupted', async () => {
  const ws = await WsClient.connect(server.url, 'early');
  const id = await queuePrompt(server.url, workPrompt({ ms: 400, steps: 4 }), 'early');
  const answer = await postJson(`${server.url}/interrupt`, { prompt_id: id });
  assert.equal(answer.status, 200);
  await ws.finished(id, 20_000);
  const history = (await (await fetch(`${server.url}/history/${id}`)).json()) as Record<string, { status: { messages: [string][] } }>;
  const kinds = history[id].status.messages.map((m) => m[0]);
  assert.ok(kinds.includes('execution_interrupted'), `the job ran on: ${kinds.join(', ')}`);
  // The next job is not hit by the old interrupt.
  const next = await queuePrompt(server.url, workPrompt({ ms: 10 }), 'early');
  await ws.finished(next, 20_000);
  const nextHistory = (await (await fetch(`${server.url}/history/${next}`)).json()) as Record<string, { status: { status_str: string } }>;
  assert.equal(nextHistory[next].status.status_str, 'success');
  ws.close();
});
