// The fake nodes, but the execution process takes a while to load them: a stand-in for
// a worker that is still starting (loading onnxruntime and the node registry) when a job arrives.
import { isMainThread } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

if (!isMainThread) await sleep(1500);
export { createRegistry } from './fake-nodes.ts';
