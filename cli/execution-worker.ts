// The execution worker process: builds the node registry and the executor once, then runs the
// jobs the host posts over IPC, streaming events back. Model work may block this process for
// seconds or more (onnxruntime-node's run is synchronous): interrupts are IPC messages read between
// calls, and a host whose interrupt is not honoured in time kills this process (execution-host.ts).

import type { Folders, NodeRegistry, NodeServices } from '../engine/graph/index.ts';
import { createExecutor, createInterruptFlag } from '../engine/exec/index.ts';
import { validatePrompt } from '../engine/graph/index.ts';
import type { ExecutionEvent, ExecutionJob, ExecutionOutcome, InterruptFlag } from '../engine/exec/index.ts';
import { createNodeServices } from '../nodes/services.ts';

export interface WorkerData {
  folders: Folders;
  device: string;
  /** URL of a module exporting createRegistry(); default nodes/index.ts (tests inject fakes). */
  registryModule?: string;
}

export type ToWorker =
  | { type: 'init'; data: WorkerData }
  /** Meant for run `id`, which may not have started yet (an interrupt sent while starting). */
  | { type: 'interrupt'; id: number }
  | { type: 'run'; id: number; job: ExecutionJob }
  | { type: 'free'; unloadModels: boolean; freeMemory: boolean }
  | { type: 'close' };

export type FromWorker =
  /** `rss`: this process's resident bytes then (the host recycles a process a failed job left bloated). */
  | { type: 'ready'; rss: number }
  | { type: 'event'; id: number; event: ExecutionEvent }
  | { type: 'done'; id: number; outcome: ExecutionOutcome; rss: number }
  | { type: 'failed'; id: number; message: string; rss: number }
  | { type: 'log'; message: string };

interface RegistryModule {
  createRegistry(): NodeRegistry;
}

/** Messages that arrive while the worker is still starting wait here (an interrupt sent then counts). */
function bufferMessages(): { init: Promise<WorkerData>; handOver(handler: (message: ToWorker) => void): void } {
  const early: ToWorker[] = [];
  let handler: ((message: ToWorker) => void) | undefined;
  let resolveInit!: (data: WorkerData) => void;
  const init = new Promise<WorkerData>((resolve) => (resolveInit = resolve));
  process.on('message', (message: ToWorker) => {
    if (message.type === 'init') resolveInit(message.data);
    else if (handler) handler(message);
    else early.push(message);
  });
  return {
    init,
    handOver(next) {
      handler = next;
      for (const message of early.splice(0)) next(message);
    },
  };
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('cli/execution-worker.ts must run in a child process with IPC (see cli/execution-host.ts)');
  const post = (message: FromWorker) => void send(message);
  // The host decides when to stop: Ctrl+C reaches the whole process group, and it interrupts the
  // job, waits, and kills this process only if the interrupt is not honoured in time.
  process.on('SIGINT', () => {});
  // The host went away (killed): nobody is left to report to.
  process.on('disconnect', () => process.exit(0));
  const inbox = bufferMessages();
  const data = await inbox.init;
  const registryUrl = data.registryModule ?? new URL('../nodes/index.ts', import.meta.url).href;
  const registry = ((await import(registryUrl)) as RegistryModule).createRegistry();
  const services: NodeServices & { dispose?(): Promise<void> } = await createNodeServices({ folders: data.folders, device: data.device });
  const executor = createExecutor({
    registry,
    env: { folders: data.folders },
    services,
    log: (message) => post({ type: 'log', message }),
  });
  const flag = createInterruptFlag();
  let interruptTarget = 0;
  // The executor clears the flag as the job starts; an interrupt already meant for this run survives it.
  const interruptFor = (id: number): InterruptFlag => ({
    isSet: () => flag.isSet(),
    set: () => flag.set(),
    clear: () => {
      flag.clear();
      if (interruptTarget === id) flag.set();
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
      post({ type: 'done', id, outcome, rss: process.memoryUsage.rss() });
    } catch (error) {
      post({ type: 'failed', id, message: error instanceof Error ? error.message : String(error), rss: process.memoryUsage.rss() });
    }
  }

  let running: Promise<void> = Promise.resolve();
  inbox.handOver((message) => {
    switch (message.type) {
      case 'interrupt':
        interruptTarget = message.id;
        flag.set();
        break;
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
        void running.then(() => services.dispose?.()).finally(() => process.disconnect());
        break;
    }
  });
  post({ type: 'ready', rss: process.memoryUsage.rss() });
}

await main();
