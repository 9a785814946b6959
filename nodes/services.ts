// Builds the long-lived services nodes share (the SD runtime: graphs, sessions, device) for one process.
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { Folders, NodeServices } from '../engine/graph/index.ts';
import { SdRuntime } from '../engine/sd/index.ts';
import type { Device } from '../engine/onnx/index.ts';

export interface ServiceOptions {
  folders: Folders;
  device?: string;
  /** Where built ONNX graphs are cached; default $INVGRAPH_CACHE_DIR or ./.cache/invgraph/graphs. */
  cacheDir?: string;
  threads?: number;
  /** Weight memory the sessions may hold (bytes); default memoryBudgetFromEnv(). */
  memoryBudgetBytes?: number;
}

export interface HostedServices extends NodeServices {
  dispose(): Promise<void>;
}

const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda', 'webgpu'];

export function parseDevice(value: string | undefined): Device {
  const device = (value ?? 'auto') as Device;
  if (!DEVICES.includes(device)) throw new Error(`--device ${value}: choose one of ${DEVICES.join(', ')}`);
  return device;
}

export function defaultCacheDir(): string {
  return resolve(process.env.INVGRAPH_CACHE_DIR ?? '.cache/invgraph/graphs');
}

/**
 * The session memory budget: INVGRAPH_MEMORY_BUDGET_GB (set by `--memory-budget`), else a quarter of this
 * machine's memory, so the sessions of one workflow's UNet variants (3.4 GB each at SD1.5 size) take turns
 * instead of piling up; switching back costs a reload of seconds (the optimised model is on disk).
 */
export function memoryBudgetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.INVGRAPH_MEMORY_BUDGET_GB;
  if (raw === undefined || raw === '') return totalmem() / 4;
  const gb = Number(raw);
  if (!(gb > 0)) throw new Error(`INVGRAPH_MEMORY_BUDGET_GB / --memory-budget must be a positive number of GB, got ${JSON.stringify(raw)}`);
  return gb * 1e9;
}

export async function createNodeServices(options: ServiceOptions): Promise<HostedServices> {
  const sd = new SdRuntime({
    cacheDir: options.cacheDir ?? defaultCacheDir(), device: parseDevice(options.device), threads: options.threads,
    memoryBudgetBytes: options.memoryBudgetBytes ?? memoryBudgetFromEnv(),
  });
  return { sd, dispose: () => sd.release() };
}
