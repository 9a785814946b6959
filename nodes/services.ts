// Builds the long-lived services nodes share (the SD runtime: graphs, sessions, device) for one process.
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

export async function createNodeServices(options: ServiceOptions): Promise<HostedServices> {
  const sd = new SdRuntime({ cacheDir: options.cacheDir ?? defaultCacheDir(), device: parseDevice(options.device), threads: options.threads });
  return { sd, dispose: () => sd.release() };
}
