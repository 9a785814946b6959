// Multi-worker test setup: a real redis-server, a server with --queue on it, and `invgraph worker`
// child processes (cli/worker.ts) sharing the server's folders (the shared-output-folder mode).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { WorkerOptions } from '../../cli/worker.ts';
import { startTestRedis, type TestRedis } from '../../engine/queue/testing/redis-server.ts';
import { startTestServer, type TestServer } from './harness.ts';

const CHILD = new URL('./worker-child.ts', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  id: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface Cluster {
  redis: TestRedis;
  server: TestServer;
  workers: WorkerProcess[];
  addWorker(options?: Partial<WorkerOptions>): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  registryModule?: string;
  models?: string;
  workerDefaults?: Partial<WorkerOptions>;
  authToken?: string;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const redis = await startTestRedis();
  const server = await startTestServer({
    queue: redis.url,
    registryModule: options.registryModule,
    authToken: options.authToken,
    ...(options.models ? { models: options.models } : {}),
  });
  const workers: WorkerProcess[] = [];
  const addWorker = async (extra: Partial<WorkerOptions> = {}) => {
    const { dirs } = server;
    const workerOptions: WorkerOptions = {
      queue: redis.url,
      models: options.models ?? dirs.models,
      input: dirs.input,
      output: dirs.output,
      temp: dirs.temp,
      device: 'cpu',
      registryModule: options.registryModule,
      lockMs: 2000,
      ...options.workerDefaults,
      ...extra,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(workerOptions)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited.then(() => { throw new Error('worker exited before it started'); })])) as [string];
    const worker: WorkerProcess = {
      child,
      id: (JSON.parse(line) as { id: string }).id,
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      },
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
    workers.push(worker);
    return worker;
  };
  return {
    redis,
    server,
    workers,
    addWorker,
    close: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await server.close();
      await redis.stop();
    },
  };
}
