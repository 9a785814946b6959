// Issue #12 item 5: memory a failed job took must not stay held. A job that takes 400 MB and then fails
// (FakeHog keeps the memory, as a native library's buffers or an allocator's heap would) leaves the
// server's processes within 20% of their resident memory before the job, and the next job still runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJson, queuePrompt, startTestServer, workPrompt, WsClient, type TestServer } from './harness.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';

const MIXED_REGISTRY = new URL('./mixed-nodes.ts', import.meta.url).href;

/** Resident bytes of this process's children and their descendants (the server's execution process). */
function childrenRss(pid = process.pid): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      continue; // the thread ended between two reads
    }
    for (const child of children) {
      try {
        total += Number(readFileSync(`/proc/${child}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
        total += childrenRss(Number(child));
      } catch {
        // the child ended between two reads
      }
    }
  }
  return total;
}

type History = Record<string, { status: { status_str: string } }>;

let server: TestServer;
before(async () => {
  server = await startTestServer({ registryModule: MIXED_REGISTRY });
});
after(() => server?.close());

test('a failed job that took 400 MB leaves the server within 20% of its memory before the job', { timeout: 120_000, skip: process.platform !== 'linux' && 'reads /proc (Linux)' }, async () => {
  const ws = await WsClient.connect(server.url, 'mem');
  try {
    const warm = await queuePrompt(server.url, workPrompt({ tag: 'warm' }), 'mem');
    await ws.finished(warm, 60_000);
    const beforeRss = childrenRss();
    assert.ok(beforeRss > 0, 'the execution process is running');

    const hog: ApiPrompt = {
      '1': { class_type: 'FakeNumber', inputs: { value: 1 } },
      '2': { class_type: 'FakeHog', inputs: { value: ['1', 0], mb: 400 } },
      '3': { class_type: 'FakeSave', inputs: { value: ['2', 0], tag: 'never' } },
    };
    const failed = await queuePrompt(server.url, hog, 'mem');
    await ws.finished(failed, 60_000);
    assert.equal((await getJson<History>(`${server.url}/history/${failed}`))[failed].status.status_str, 'error');

    // The host replaces the bloated process in the background: poll until it is gone.
    let afterRss = childrenRss();
    for (let i = 0; i < 100 && afterRss > beforeRss * 1.2; i++) {
      await sleep(100);
      afterRss = childrenRss();
    }
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    assert.ok(afterRss <= beforeRss * 1.2, `resident memory after the failed job ${mb(afterRss)} vs ${mb(beforeRss)} before`);

    const next = await queuePrompt(server.url, workPrompt({ tag: 'next' }), 'mem');
    await ws.finished(next, 60_000);
    assert.equal((await getJson<History>(`${server.url}/history/${next}`))[next].status.status_str, 'success');
  } finally {
    ws.close();
  }
});
