// Test helper run in a worker thread: an executor whose only node spins synchronously (like a
// long onnxruntime call per step), so the worker's event loop never turns until it returns.

import { parentPort, workerData } from 'node:worker_threads';
import { defineNode } from '../../graph/index.ts';
import { createExecutor } from '../executor.ts';
import { fromSharedBuffer } from '../interrupt.ts';

const spin = defineNode({
  name: 'Spin', category: 'test', description: 'blocks its thread for up to 10 s', outputNode: true,
  inputs: { required: {} },
  outputs: [],
  run: (_inputs, ctx) => {
    parentPort?.postMessage({ type: 'spinning' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      ctx.throwIfInterrupted();
      const sliceEnd = Date.now() + 1;
      while (Date.now() < sliceEnd) {
        // busy: one "synchronous inference step"
      }
    }
    return { outputs: [] };
  },
});

const executor = createExecutor({
  registry: new Map([['Spin', spin]]),
  env: { folders: { input: '/tmp', output: '/tmp', temp: '/tmp', models: '/tmp' } },
  services: {},
  log: () => undefined,
});
const interrupt = fromSharedBuffer((workerData as { buffer: SharedArrayBuffer }).buffer);
const outcome = await executor.execute({ promptId: 'w', prompt: { '1': { class_type: 'Spin', inputs: {} } }, outputs: ['1'] }, { onEvent: () => undefined, interrupt });
parentPort?.postMessage({ type: 'done', status: outcome.status, messages: outcome.messages.map(([type]) => type) });
