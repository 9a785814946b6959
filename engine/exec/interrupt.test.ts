// Interrupt flags, including the shared-memory one that stops a worker whose event loop is blocked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { InterruptedError, createInterruptFlag, createSharedInterruptFlag, fromSharedBuffer, watchInterrupt } from './interrupt.ts';

describe('interrupt flags', () => {
  it('set, isSet and clear, in-process and shared', () => {
    for (const flag of [createInterruptFlag(), createSharedInterruptFlag()]) {
      assert.equal(flag.isSet(), false);
      flag.set();
      assert.equal(flag.isSet(), true);
      flag.clear();
      assert.equal(flag.isSet(), false);
    }
  });

  it('two views of one shared buffer see each other', () => {
    const flag = createSharedInterruptFlag();
    const view = fromSharedBuffer(flag.buffer);
    flag.set();
    assert.equal(view.isSet(), true);
    view.clear();
    assert.equal(flag.isSet(), false);
    assert.throws(() => fromSharedBuffer(new SharedArrayBuffer(2)), /needs at least 4/);
  });

  it('a watch notices once, clears the flag, stays interrupted and aborts its signal', () => {
    const flag = createInterruptFlag();
    const watch = watchInterrupt(flag);
    try {
      watch.check();
      flag.set();
      assert.throws(() => watch.check(), InterruptedError);
      assert.equal(flag.isSet(), false);
      assert.throws(() => watch.check(), InterruptedError);
      assert.equal(watch.signal.aborted, true);
    } finally {
      watch.stop();
    }
  });
});

describe('shared flag across threads', () => {
  it('stops a worker whose event loop is blocked in a synchronous node', async () => {
    const flag = createSharedInterruptFlag();
    const worker = startTsWorker(new URL('./testing/blocked-worker.ts', import.meta.url), { buffer: flag.buffer });
    try {
      const started = Date.now();
      const result = await new Promise<{ status: string; messages: string[] }>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (message: { type: string; status: string; messages: string[] }) => {
          if (message.type === 'spinning') setTimeout(() => flag.set(), 50);
          if (message.type === 'done') resolve(message);
        });
      });
      assert.equal(result.status, 'interrupted');
      assert.deepEqual(result.messages, ['execution_start', 'execution_cached', 'execution_interrupted']);
      assert.ok(Date.now() - started < 8000, 'interrupted well before the node would end by itself');
    } finally {
      await worker.terminate();
    }
  });
});

/** Workers do not inherit the tsx loader, so register it inside the worker before importing. */
function startTsWorker(file: URL, workerData: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}
