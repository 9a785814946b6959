// Many clients at once (each sees only its own job frames), and the main thread staying
// responsive while a node blocks the execution process for seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { postJson, queuePrompt, startTestServer, workPrompt, WsClient } from './harness.ts';

test('8 clients × 25 prompts: all complete, each client gets only its own events', { timeout: 120_000 }, async () => {
  const server = await startTestServer();
  const clients = await Promise.all(Array.from({ length: 8 }, (_, k) => WsClient.connect(server.url, `client-${k}`)));
  try {
    const idsPerClient = await Promise.all(
      clients.map((_, k) =>
        Promise.all(Array.from({ length: 25 }, (_, i) => queuePrompt(server.url, workPrompt({ tag: `c${k}`, value: k * 1000 + i }), `client-${k}`))),
      ),
    );
    await Promise.all(clients.map((client, k) => Promise.all(idsPerClient[k].map((id) => client.finished(id, 60_000)))));
    clients.forEach((client, k) => {
      const own = new Set(idsPerClient[k]);
      const jobFrames = client.frames.filter((f) => f.type !== 'status');
      assert.ok(jobFrames.every((f) => own.has(String(f.data.prompt_id))), `client ${k} saw a foreign frame`);
      for (const id of own) {
        const types = client.framesOf(id).map((f) => f.type);
        assert.equal(types[0], 'execution_start');
        assert.ok(types.includes('executed'));
        assert.equal(types.at(-1), 'executing');
      }
      const lines = readFileSync(join(server.dirs.output, `c${k}.txt`), 'utf8').trim().split('\n');
      assert.equal(lines.length, 25);
    });
    assert.deepEqual(await (await fetch(`${server.url}/prompt`)).json(), { exec_info: { queue_remaining: 0 } });
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
});

test('the event loop answers /queue in < 100 ms while a node blocks the worker; interrupt still lands', { timeout: 60_000 }, async () => {
  const server = await startTestServer();
  const ws = await WsClient.connect(server.url, 'busy');
  try {
    // 4 slices of 1.5 s, each one synchronous busy loop in the worker.
    const id = await queuePrompt(server.url, workPrompt({ tag: 'busy', ms: 6000, steps: 4 }), 'busy');
    await ws.waitFor((f) => f.type === 'executing' && f.data.node === '2' && f.data.prompt_id === id);
    const timings: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      const res = await fetch(`${server.url}/queue`);
      await res.json();
      timings.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(Math.max(...timings) < 100, `slowest /queue took ${Math.max(...timings).toFixed(1)} ms`);
    const sent = performance.now();
    await postJson(`${server.url}/interrupt`, {});
    await ws.waitFor((f) => f.type === 'execution_interrupted' && f.data.prompt_id === id, 5000);
    // The flag is seen at the next progress call, at most one 1.5 s slice later.
    assert.ok(performance.now() - sent < 2500);
    await ws.finished(id);
  } finally {
    ws.close();
    await server.close();
  }
});
