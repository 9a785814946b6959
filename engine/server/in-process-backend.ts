// An ExecutionBackend that runs the executor on the calling thread: for tests and tools whose
// nodes never block for long. Production uses the child-process backend of cli/execution-host.ts.

import type { DefinitionEnv, NodeRegistry, NodeServices } from '../graph/index.ts';
import { createExecutor, createInterruptFlag } from '../exec/index.ts';
import type { ExecutionBackend } from './backend.ts';

export interface InProcessBackendOptions {
  registry: NodeRegistry;
  env: DefinitionEnv;
  services?: NodeServices;
}

export function createInProcessBackend(options: InProcessBackendOptions): ExecutionBackend {
  const executor = createExecutor({ registry: options.registry, env: options.env, services: options.services ?? {} });
  const interrupt = createInterruptFlag();
  return {
    run: (job, onEvent) => executor.execute(job, { onEvent, interrupt }),
    interrupt: () => interrupt.set(),
    free: (request) => {
      if (request.freeMemory) executor.clearCache();
    },
    close: async () => {},
  };
}
