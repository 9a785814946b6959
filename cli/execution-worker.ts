// The execution worker thread: builds the node registry and the executor once, then runs the
// jobs the main thread posts, streaming events back. Model work may block this thread for
// seconds (onnxruntime-node's run is synchronous); interrupts arrive through shared memory.

import { parentPort, workerData } from 'node:worker_threads';
import type { Folders, NodeRegistry, NodeServices } from '../engine/graph/index.ts';
import { createExecutor, fromSharedBuffer } from '../engine/exec/index.ts';
import { validatePrompt } from '../engine/graph/index.ts';
import type { ExecutionEvent, ExecutionJob, ExecutionOutcome, InterruptFlag } from '../engine/exec/index.ts';
import { createNodeServices } from '../nodes/services.ts';

export interface WorkerData {
  entry: string;
  folders: Folders;
  device: string;
  /** URL of a module exporting createRegistry(); default nodes/index.ts (tests inject fakes). */
  registryModule?: string;
  interruptBuffer: SharedArrayBuffer;
  /** One Int32: the id of the run the last interrupt was meant for (execution-host.ts). */
  interruptTargetBuffer: SharedArrayBuffer;
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
  const shared = fromSharedBuffer(data.interruptBuffer);
  const interruptTarget = new Int32Array(data.interruptTargetBuffer);
  // The executor clears the flag as the job starts; an interrupt already meant for this run survives it.
  const interruptFor = (id: number): InterruptFlag => ({
    isSet: () => shared.isSet(),
    set: () => shared.set(),
    clear: () => {
      shared.clear();
      if (Atomics.load(interruptTarget, 0) === id) shared.set();
    },
  });

  // The queue stores prompts as JSON, which loses what validation coerced (a SEED is a bigint even when
  // it is small): coerce again here, in the thread that runs it. A prompt that no longer validates (a
  // model file removed since it was queued) fails with the validation message.
  const env = { folders: data.folders };
  async function runJob(id: number, job: ExecutionJob): Promise<void> {
    try {
      const checked = await validatePrompt(job.prompt, registry, env);
      if (!checked.ok) {
        // Name what failed on this machine (e.g. a checkpoint missing from this worker's --models).
        const causes = Object.entries(checked.node_errors).flatMap(([id, entry]) =>
          entry.errors.map((e) => `node ${id} (${entry.class_type}): ${e.message}: ${e.details}`),
        );
        throw new Error(`the prompt no longer validates: ${[`${checked.error.message}${checked.error.details}`, ...causes].join('; ')}`);
      }
      const outcome = await executor.execute({ ...job, prompt: checked.prompt }, { onEvent: (event) => post({ type: 'event', id, event }), interrupt: interruptFor(id) });
      post({ type: 'done', id, outcome });
    } catch (error) {
      post({ type: 'failed', id, message: error instanceof Error ? error.message : String(error) });
    }
  }

  let running: Promise<void> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        // After a pending /free unload (the worker chains it after the job before), never beside it.
        running = running.then(() => runJob(message.id, message.job));
        break;
      case 'free':
        if (message.freeMemory) executor.clearCache();
        // Sessions go only between jobs; the next job opens what it needs again.
        if (message.unloadModels) running = running.then(() => services.sd?.release());
        break;
      case 'close':
        // Sessions are released only after the running job has stopped (the host interrupts it).
        void running.then(() => services.dispose?.()).finally(() => port.close());
        break;
    }
  });
  post({ type: 'ready' });
}

await main();
