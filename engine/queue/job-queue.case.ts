// The case-suite every JobQueue passes (SQLite and Redis): ComfyUI's numbering and order, deletes,
// big seeds, finish → history, paging and retention (comfyui-api.md §2.1–2.7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryEntry, JobQueue, NewJob } from './job-queue.ts';

export interface QueueFactory {
  /** A fresh, empty queue with this history retention. */
  open(options: { historyMax?: number }): Promise<JobQueue>;
  /** SQLite honours an explicit `number` exactly; Redis runs it FIFO (docs/server.md). */
  exactExplicitNumbers: boolean;
}

function job(promptId: string, extra: Partial<NewJob> = {}): NewJob {
  return { promptId, prompt: { '1': { class_type: 'X', inputs: { seed: 18446744073709551615n } } }, extraData: { client_id: 'c' }, outputs: ['1'], ...extra };
}

function entry(promptId: string): HistoryEntry {
  return { prompt: [0, promptId, {}, {}, ['1']], outputs: {}, status: { status_str: 'success', completed: true, messages: [] }, meta: {} };
}

async function ids(jobs: Promise<{ promptId: string }[]> | { promptId: string }[]): Promise<string[]> {
  return (await jobs).map((j) => j.promptId);
}

export function queueCases(name: string, factory: QueueFactory): void {
  const withQueue = (title: string, options: { historyMax?: number }, fn: (q: JobQueue) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const q = await factory.open(options);
      try {
        await fn(q);
      } finally {
        await q.close();
      }
    });

  withQueue('numbers follow ComfyUI: counter, and front = -counter runs first, latest front first', {}, async (q) => {
    assert.equal(await q.add(job('a')), 0);
    assert.equal(await q.add(job('b')), 1);
    assert.equal(await q.add(job('c', { front: true })), -2);
    assert.equal(await q.add(job('e')), 3);
    assert.equal(await q.add(job('f', { front: true })), -4);
    assert.deepEqual(await ids(q.pending()), ['f', 'c', 'a', 'b', 'e']);
    assert.equal((await q.take())?.promptId, 'f');
    assert.equal(await q.remaining(), 5);
    assert.deepEqual(await ids(q.running()), ['f']);
    assert.equal(await q.contains('f'), true);
    assert.equal(await q.contains('a'), true);
    assert.equal(await q.contains('zz'), false);
  });

  if (factory.exactExplicitNumbers) {
    withQueue('an explicit number sorts among counters; equal numbers by prompt id', {}, async (q) => {
      await q.add(job('a'));
      await q.add(job('b'));
      await q.add(job('d', { number: 0.5 }));
      await q.add(job('zz', { number: 7 }));
      await q.add(job('aa', { number: 7 }));
      assert.deepEqual(await ids(q.pending()), ['a', 'd', 'b', 'aa', 'zz']);
    });
  }

  withQueue('big seeds survive storage exactly', {}, async (q) => {
    await q.add(job('a'));
    assert.equal((await q.take())!.prompt['1'].inputs.seed, 18446744073709551615n);
  });

  withQueue('finish moves running to history; delete and clear touch only pending', {}, async (q) => {
    for (const id of ['a', 'b', 'c', 'd']) await q.add(job(id));
    assert.equal((await q.take())?.promptId, 'a');
    assert.equal(await q.deletePending(['a', 'b', 'nope']), 1);
    assert.deepEqual(await ids(q.running()), ['a']);
    assert.equal(await q.finish('a', entry('a')), true);
    assert.equal((await q.running()).length, 0);
    assert.equal((await q.historyEntry('a'))?.status.status_str, 'success');
    assert.equal(await q.contains('a'), false);
    assert.equal(await q.clearPending(), 2);
    assert.equal(await q.remaining(), 0);
    assert.equal(await q.take(), undefined);
  });

  withQueue('history paging matches ComfyUI windows and retention drops the oldest', { historyMax: 5 }, async (q) => {
    for (let i = 0; i < 7; i++) {
      await q.add(job(`p${i}`));
      await q.take();
      await q.finish(`p${i}`, entry(`p${i}`));
      await new Promise((r) => setTimeout(r, 2)); // distinct finish times (Redis orders history by them)
    }
    const page = async (p?: { maxItems?: number; offset?: number }) => (await q.history(p)).map(([id]) => id);
    assert.deepEqual(await page(), ['p2', 'p3', 'p4', 'p5', 'p6']);
    assert.deepEqual(await page({ maxItems: 2 }), ['p5', 'p6']);
    assert.deepEqual(await page({ offset: 3 }), ['p5', 'p6']);
    assert.deepEqual(await page({ offset: 1, maxItems: 2 }), ['p3', 'p4']);
    assert.deepEqual(await page({ offset: 9 }), []);
    assert.deepEqual((await q.historyJson({ maxItems: 1 })).map(([id, text]) => [id, JSON.parse(text).prompt[1]]), [['p6', 'p6']]);
    await q.deleteHistory(['p3']);
    assert.deepEqual(await page(), ['p2', 'p4', 'p5', 'p6']);
    await q.clearHistory();
    assert.deepEqual(await page(), []);
  });

  withQueue('a prompt id may be queued again once it is in history', {}, async (q) => {
    await q.add(job('a'));
    await q.take();
    await q.finish('a', entry('a'));
    await q.add(job('a'));
    assert.deepEqual(await ids(q.pending()), ['a']);
  });

  withQueue('prompt ids that are integers or hold ":" are kept as given', {}, async (q) => {
    await q.add(job('123'));
    await q.add(job('a:b'));
    assert.deepEqual(await ids(q.pending()), ['123', 'a:b']);
    assert.equal(await q.deletePending(['a:b']), 1);
  });
}
