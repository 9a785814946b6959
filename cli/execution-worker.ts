// The execution worker thread: builds the node registry and the executor once, then runs the
// jobs the main thread posts, streaming events back. Model work may block this thread for
// seconds (onnxruntime-node's run is synchronous); interrupts arrive through shared memory.

import { parentPort, workerData } from 'node:worker_threads';
import type { Folders, NodeRegistry, NodeServices } from '../engine/graph/index.ts';
import { createExecutor, fromSharedBuffer } from '../engine/exec/index.ts';
import type { ExecutionEvent, ExecutionJob, ExecutionOutcome } from '../engine/exec/index.ts';
import { createNodeServices } from '../nodes/services.ts';

export interface WorkerData {
  entry: string;
  folders: Folders;
  device: string;
  /** URL of a module exporting createRegistry(); default nodes/index.ts (tests inject fakes). */
  registryModule?: string;
  interruptBuffer: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'run'; id: number; job: ExecutionJob }
  | { type: 'free'; unloadModels: boolean; freeMemory: boolean }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'event'; id: number; event: ExecutionEvent }
  | { type: 'done'; id: number; outcome: ExecutionOutcome }
  | { type: 'failed'; id: number; message: string }
  | { type: 'log'; message: string };

interface RegistryModule {
  createRegistry(): NodeRegistry;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('cli/execution-worker.ts must run in a worker thread (see cli/execution-host.ts)');
  const data = workerData as WorkerData;
  const post = (message: FromWorker) => port.postMessage(message);
  const registryUrl = data.registryModule ?? new URL('../nodes/index.ts', import.meta.url).href;
  const registry = ((await import(registryUrl)) as RegistryModule).createRegistry();
  const services: NodeServices & { dispose?(): Promise<void> } = await createNodeServices({ folders: data.folders, device: data.device });
  const executor = createExecutor({
    registry,
    env: { folders: data.folders },
    services,
    log: (message) => post({ type: 'log', message }),
  });
  const interrupt = fromSharedBuffer(data.interruptBuffer);

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        executor
          .execute(message.job, { onEvent: (event) => post({ type: 'event', id: message.id, event }), interrupt })
          .then(
            (outcome) => post({ type: 'done', id: message.id, outcome }),
            (error: unknown) => post({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error) }),
          );
        break;
      case 'free':
        if (message.freeMemory) executor.clearCache();
        break;
      case 'close':
        void (services.dispose?.() ?? Promise.resolve()).finally(() => port.close());
        break;
    }
  });
  post({ type: 'ready' });
}

await main();
