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

test('a job the process died under twice goes to history as failed, with the reason, and is not run again', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'queue.db');
    // Each "crash": the job was taken and the process ended without close() (the handle is dropped).
    const first = openSqliteQueue({ file });
    first.add(job('hog'));
    first.add(job('next'));
    assert.equal((await first.take())?.promptId, 'hog');
    const second = openSqliteQueue({ file });
    assert.deepEqual((await second.pending()).map((j) => j.promptId), ['hog', 'next'], 'one crash: it runs again');
    assert.equal((await second.take())?.promptId, 'hog');
    const third = openSqliteQueue({ file });
    assert.deepEqual((await third.pending()).map((j) => j.promptId), ['next']);
    const failed = (await third.historyEntry('hog'))!;
    assert.equal(failed.status.status_str, 'error');
    assert.equal(failed.status.completed, false);
    const [kind, data] = failed.status.messages[0] as [string, { exception_type: string; exception_message: string; prompt_id: string }];
    assert.equal(kind, 'execution_error');
    assert.equal(data.prompt_id, 'hog');
    assert.equal(data.exception_type, 'ServerStoppedDuringPrompt');
    assert.match(data.exception_message, /stopped 2 times while running this prompt.*not run again/);
    assert.equal(failed.prompt[2].toString(), job('hog').prompt.toString(), 'the prompt is kept for the user to look at');
    for (const q of [first, second, third]) q.close();
  });
});

test('an orderly close does not count as a crash', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'queue.db');
    let q = openSqliteQueue({ file });
    q.add(job('long'));
    for (let restart = 0; restart < 4; restart++) {
      assert.equal((await q.take())?.promptId, 'long');
      q.close(); // SIGTERM: the running job stays queued for the next start
      q = openSqliteQueue({ file });
    }
    assert.deepEqual((await q.pending()).map((j) => j.promptId), ['long']);
    assert.equal(await q.historyEntry('long'), undefined);
    q.close();
  });
});
