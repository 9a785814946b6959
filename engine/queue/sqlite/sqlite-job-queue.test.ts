// Queue semantics of comfyui-api.md §2.1–2.7 on the SQLite queue, including reopening the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteQueue } from './sqlite-job-queue.ts';
import type { HistoryEntry, NewJob } from '../job-queue.ts';

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

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-queue-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('numbers follow ComfyUI: counter, front = -counter, explicit number keeps the counter', () => {
  const q = openSqliteQueue({ file: ':memory:' });
  assert.equal(q.add(job('a')), 0);
  assert.equal(q.add(job('b')), 1);
  assert.equal(q.add(job('c', { front: true })), -2);
  assert.equal(q.add(job('d', { number: 0.5 })), 0.5);
  assert.equal(q.add(job('e')), 3);
  assert.deepEqual(q.pending().map((j) => j.promptId), ['c', 'a', 'd', 'b', 'e']);
  assert.equal(q.take()?.promptId, 'c');
  assert.equal(q.remaining(), 5);
  assert.deepEqual(q.running().map((j) => j.promptId), ['c']);
  q.close();
});

test('equal numbers are ordered by prompt id, as the ComfyUI heap orders its tuples', () => {
  const q = openSqliteQueue({ file: ':memory:' });
  q.add(job('zz', { number: 1 }));
  q.add(job('aa', { number: 1 }));
  assert.deepEqual(q.pending().map((j) => j.promptId), ['aa', 'zz']);
  q.close();
});

test('big seeds survive storage exactly', () => {
  const q = openSqliteQueue({ file: ':memory:' });
  q.add(job('a'));
  assert.equal(q.take()!.prompt['1'].inputs.seed, 18446744073709551615n);
  q.close();
});

test('finish moves running to history atomically; delete and clear touch only pending', () => {
  const q = openSqliteQueue({ file: ':memory:' });
  for (const id of ['a', 'b', 'c', 'd']) q.add(job(id));
  q.take();
  assert.equal(q.deletePending(['a', 'b', 'nope']), 1);
  assert.deepEqual(q.running().map((j) => j.promptId), ['a']);
  q.finish('a', entry('a'));
  assert.equal(q.running().length, 0);
  assert.equal(q.historyEntry('a')?.status.status_str, 'success');
  assert.equal(q.clearPending(), 2);
  assert.equal(q.remaining(), 0);
  q.close();
});

test('history paging matches ComfyUI windows and retention drops the oldest', () => {
  const q = openSqliteQueue({ file: ':memory:', historyMax: 5 });
  for (let i = 0; i < 7; i++) {
    q.add(job(`p${i}`));
    q.take();
    q.finish(`p${i}`, entry(`p${i}`));
  }
  const ids = (page?: { maxItems?: number; offset?: number }) => q.history(page).map(([id]) => id);
  assert.deepEqual(ids(), ['p2', 'p3', 'p4', 'p5', 'p6']);
  assert.deepEqual(ids({ maxItems: 2 }), ['p5', 'p6']);
  assert.deepEqual(ids({ offset: 3 }), ['p5', 'p6']);
  assert.deepEqual(ids({ offset: 1, maxItems: 2 }), ['p3', 'p4']);
  assert.deepEqual(ids({ offset: 9 }), []);
  assert.deepEqual(q.historyJson({ maxItems: 1 }).map(([id, text]) => [id, JSON.parse(text).prompt[1]]), [['p6', 'p6']]);
  q.deleteHistory(['p3']);
  assert.deepEqual(ids(), ['p2', 'p4', 'p5', 'p6']);
  q.clearHistory();
  assert.deepEqual(ids(), []);
  q.close();
});

test('reopening keeps pending jobs, re-queues the running one and keeps history and counter', () => {
  withTempDir((dir) => {
    const file = join(dir, 'queue.db');
    let q = openSqliteQueue({ file });
    for (const id of ['a', 'b', 'c']) q.add(job(id));
    q.take();
    q.finish('a', entry('a'));
    q.take(); // b is running when the "crash" happens
    q.close();
    q = openSqliteQueue({ file });
    assert.deepEqual(q.pending().map((j) => j.promptId), ['b', 'c']);
    assert.equal(q.running().length, 0);
    assert.ok(q.historyEntry('a'));
    assert.equal(q.add(job('d')), 3);
    q.close();
  });
});

test('a bad retention is refused with the value in the message', () => {
  assert.throws(() => openSqliteQueue({ file: ':memory:', historyMax: 0 }), /positive integer, got 0/);
});
