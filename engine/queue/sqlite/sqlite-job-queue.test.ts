// Queue semantics of comfyui-api.md §2.1–2.7 on the SQLite queue (the shared case-suite),
// plus reopening the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteQueue } from './sqlite-job-queue.ts';
import type { HistoryEntry, NewJob } from '../job-queue.ts';
import { queueCases } from '../job-queue.case.ts';

queueCases('sqlite', { open: async ({ historyMax }) => openSqliteQueue({ file: ':memory:', historyMax }), exactExplicitNumbers: true });

function job(promptId: string, extra: Partial<NewJob> = {}): NewJob {
  return { promptId, prompt: { '1': { class_type: 'X', inputs: { seed: 18446744073709551615n } } }, extraData: { client_id: 'c' }, outputs: ['1'], ...extra };
}

function entry(promptId: string): HistoryEntry {
  return {
    prompt: [0, promptId, {}, {}, ['1']],
    outputs: {},
    status: { status_str: 'success', completed: true, messages: [] },
    meta: {},
  };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-queue-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reopening keeps pending jobs, re-queues the running one and keeps history and counter', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'queue.db');
    let q = openSqliteQueue({ file });
    for (const id of ['a', 'b', 'c']) q.add(job(id));
    q.take();
    q.finish('a', entry('a'));
    q.take(); // b is running when the "crash" happens
    q.close();
    q = openSqliteQueue({ file });
    assert.deepEqual((await q.pending()).map((j) => j.promptId), ['b', 'c']);
    assert.equal((await q.running()).length, 0);
    assert.ok(q.historyEntry('a'));
    assert.equal(q.add(job('d')), 3);
    q.close();
  });
});

test('a bad retention is refused with the value in the message', () => {
  assert.throws(() => openSqliteQueue({ file: ':memory:', historyMax: 0 }), /positive integer, got 0/);
});
