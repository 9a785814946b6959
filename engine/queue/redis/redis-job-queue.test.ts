// The Redis (BullMQ) queue against a real redis-server: the shared case-suite, plus what only a
// network queue has: a killed taker's job goes to another, a lost lock writes no history, and
// queued prompts survive a Redis restart (AOF).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { queueCases } from '../job-queue.case.ts';
import type { HistoryEntry } from '../job-queue.ts';
import { startTestRedis, type TestRedis } from '../testing/redis-server.ts';
import { openRedisQueue } from './redis-job-queue.ts';
import { parseRedisUrl } from './redis-url.ts';

let redis: TestRedis;
const TAKER = new URL('../testing/take-and-hang.ts', import.meta.url).pathname;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis.stop();
});

/** Each case gets its own key prefix: a fresh, empty queue on the shared server. */
let prefixes = 0;
const fresh = (extra: Partial<Parameters<typeof openRedisQueue>[0]> = {}) =>
  openRedisQueue({ connection: redis.address, prefix: `t${prefixes++}`, ...extra });

queueCases('redis', { open: async ({ historyMax }) => fresh({ historyMax }), exactExplicitNumbers: false });

const entry = (promptId: string): HistoryEntry => ({
  prompt: [0, promptId, {}, {}, []],
  outputs: {},
  status: { status_str: 'success', completed: true, messages: [] },
  meta: {},
});
const job = (promptId: string) => ({ promptId, prompt: {}, extraData: {}, outputs: [] });

test('redis: a taker killed with -9 loses its job to another; exactly one finish writes history', async () => {
  const prefix = `t${prefixes++}`;
  const lockMs = 1000;
  const alive = openRedisQueue({ connection: redis.address, prefix, lockMs, stalledCheckMs: 250 });
  const child = spawn(process.execPath, ['--import', 'tsx', TAKER, String(redis.address.port), prefix, String(lockMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await alive.add(job('x'));
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    assert.equal(line, 'x');
    assert.deepEqual((await alive.running()).map((j) => j.promptId), ['x']);
    // The child keeps renewing: a healthy taker keeps its job past the lock time.
    await new Promise((r) => setTimeout(r, lockMs * 2));
    assert.deepEqual((await alive.running()).map((j) => j.promptId), ['x']);
    child.kill('SIGKILL');
    const retaken = await takeWithin(alive, 15_000);
    assert.equal(retaken?.promptId, 'x');
    assert.equal(await alive.finish('x', entry('x')), true);
    assert.equal(await alive.finish('x', entry('x')), false);
    assert.deepEqual((await alive.history()).map(([id]) => id), ['x']);
  } finally {
    child.kill('SIGKILL');
    await alive.close();
  }
});

test('redis: a prompt whose worker died more than maxStarts times ends with an error entry, once', async () => {
  const prefix = `t${prefixes++}`;
  const lockMs = 1000;
  const given: string[] = [];
  const alive = openRedisQueue({
    connection: redis.address,
    prefix,
    lockMs,
    stalledCheckMs: 250,
    maxStarts: 1,
    onGiveUp: (job, message) => ({ entry: { ...entry(job.promptId), status: { status_str: 'error', completed: false, messages: [['execution_error', { message }]] } }, announce: () => given.push(job.promptId) }),
  });
  const child = spawn(process.execPath, ['--import', 'tsx', TAKER, String(redis.address.port), prefix, String(lockMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await alive.add(job('poison'));
    await once(createInterface({ input: child.stdout! }), 'line');
    child.kill('SIGKILL');
    // The stalled check puts `poison` back; its second start is over the limit, so take() ends it.
    const deadline = Date.now() + 15_000;
    while (given.length === 0 && Date.now() < deadline) assert.equal(await alive.take(), undefined);
    assert.deepEqual(given, ['poison']);
    await alive.add(job('next'));
    assert.equal((await alive.take())?.promptId, 'next');
    const poisoned = await alive.historyEntry('poison');
    assert.equal(poisoned?.status.status_str, 'error');
    assert.match(JSON.stringify(poisoned?.status.messages), /started 1 times and its worker died each time/);
  } finally {
    child.kill('SIGKILL');
    await alive.close();
  }
});

test('redis: closing a taker puts the job it holds back at the head of the queue at once', async () => {
  const prefix = `t${prefixes++}`;
  const first = openRedisQueue({ connection: redis.address, prefix });
  const second = openRedisQueue({ connection: redis.address, prefix });
  try {
    await first.add(job('a'));
    await first.add(job('b'));
    assert.equal((await first.take())?.promptId, 'a');
    await first.close();
    assert.deepEqual((await second.pending()).map((j) => j.promptId), ['a', 'b']);
    assert.equal((await second.take())?.promptId, 'a');
  } finally {
    await second.close();
  }
});

test('redis: queued prompts and history survive a redis-server kill -9 and restart (AOF)', async () => {
  const prefix = `t${prefixes++}`;
  let q = openRedisQueue({ connection: redis.address, prefix });
  await q.add(job('a'));
  await q.take();
  await q.finish('a', entry('a'));
  await q.add(job('b'));
  await q.add(job('c'));
  await q.close();
  await redis.restart();
  q = openRedisQueue({ connection: redis.address, prefix });
  try {
    assert.deepEqual((await q.pending()).map((j) => j.promptId), ['b', 'c']);
    assert.deepEqual((await q.history()).map(([id]) => id), ['a']);
    assert.equal(await q.add(job('d')), 3);
  } finally {
    await q.close();
  }
});

test('redis: --queue URLs are checked with the bad part named', () => {
  assert.deepEqual(parseRedisUrl('redis://h:7000/2'), { host: 'h', port: 7000, db: 2 });
  assert.deepEqual(parseRedisUrl('redis://u:p%40ss@h'), { host: 'h', port: 6379, db: 0, username: 'u', password: 'p@ss' });
  assert.throws(() => parseRedisUrl('http://h'), /only redis:\/\/ and rediss:\/\//);
  assert.throws(() => parseRedisUrl('redis://h/x'), /database number/);
  assert.throws(() => parseRedisUrl('nope'), /is not a URL/);
});

test('redis: the test server is a real redis-server with AOF on', async () => {
  const client = new Redis(redis.address);
  try {
    assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  } finally {
    client.disconnect();
  }
});

async function takeWithin(queue: ReturnType<typeof openRedisQueue>, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const taken = await queue.take();
    if (taken) return taken;
  }
  return undefined;
}
