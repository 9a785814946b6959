// The only module that imports onnxruntime-node: picks the execution provider (--device), creates
// sessions from model files (loaded by path so external weights are memory-mapped) and runs them.
// No globals: callers own a SessionCache (the executor's worker holds one).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor/index.ts';
import { readSidecar } from './model-file.ts';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type ResolvedDevice = Exclude<Device, 'auto'>;

export interface SessionSettings {
  device?: Device;
  /** Intra-op threads; 0 or undefined lets onnxruntime choose (one per physical core). */
  threads?: number;
  /** Graph optimisation level; default 'all' ('basic' for bit-stable parity checks). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export type Feed = { dims: readonly number[]; data: Float32Array } | { dims: readonly number[]; data: BigInt64Array; type: 'int64' };

export class DeviceError extends Error {}

export interface ModelSession {
  readonly modelPath: string;
  readonly device: ResolvedDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; every output comes back as float32. */
  run(feeds: Record<string, Feed>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Folder of the onnxruntime-node native binding (where optional provider libraries must sit). */
export function bindingFolder(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

export function cudaLibraryPresent(): boolean {
  const name = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(bindingFolder(), name));
}

function cudaMissingMessage(): string {
  return (
    `the CUDA execution provider is not installed: ${join(bindingFolder(), 'libonnxruntime_providers_cuda.so')} is missing. ` +
    `onnxruntime-node fetches it from NuGet at install time, which this project skips (.npmrc). On a machine that can ` +
    `reach NuGet run \`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js\` ` +
    `(needs CUDA 12 and cuDNN 9; README "GPU (CUDA) setup"), or start with --device cpu.`
  );
}

function providers(device: ResolvedDevice): ort.InferenceSession.ExecutionProviderConfig[] {
  if (device === 'cpu') return ['cpu'];
  return [device, 'cpu'];
}

async function createOn(modelPath: string, device: ResolvedDevice, settings: SessionSettings): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: providers(device),
    graphOptimizationLevel: settings.optimization ?? 'all',
    intraOpNumThreads: settings.threads ?? 0,
    // Quiet ORT's per-session warnings (e.g. "some nodes were not assigned to the preferred provider").
    logSeverityLevel: 3,
  };
  const sidecar = readSidecar(modelPath);
  if (!sidecar?.externalDataFolder) return ort.InferenceSession.create(modelPath, options);
  const gone = sidecar.files.filter((f) => !existsSync(f));
  if (gone.length > 0) throw new Error(`model ${modelPath} reads weights from ${gone.join(', ')}, which no longer exist; delete its cache folder to rebuild`);
  // Loaded from bytes so external data resolves against the checkpoint folder (see model-file.ts).
  options.extra = { session: { model_external_initializers_file_folder_path: sidecar.externalDataFolder } };
  return ort.InferenceSession.create(readFileSync(modelPath), options);
}

/** Creates a session, resolving 'auto' (CUDA when its library is present, else CPU). */
export async function createSession(modelPath: string, settings: SessionSettings = {}): Promise<ModelSession> {
  if (!existsSync(modelPath)) throw new Error(`model file ${modelPath} does not exist`);
  const wanted = settings.device ?? 'auto';
  if (wanted === 'cuda' && !cudaLibraryPresent()) throw new DeviceError(`--device cuda: ${cudaMissingMessage()}`);
  let device: ResolvedDevice = wanted === 'auto' ? (cudaLibraryPresent() ? 'cuda' : 'cpu') : wanted;
  let session: ort.InferenceSession;
  try {
    session = await createOn(modelPath, device, settings);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (wanted === 'auto' && device === 'cuda') {
      // auto: CUDA library present but unusable (driver, cuDNN): run on CPU instead.
      device = 'cpu';
      session = await createOn(modelPath, device, settings);
    } else if (device !== 'cpu') {
      throw new DeviceError(`--device ${device}: could not create a session on ${device} (${reason}). Use --device cpu, or see README "GPU (CUDA) setup".`);
    } else throw new Error(`could not load model ${modelPath}: ${reason}`);
  }
  return wrap(modelPath, device, session);
}

function toOrt(feed: Feed): ort.Tensor {
  if ('type' in feed) return new ort.Tensor('int64', feed.data, [...feed.dims]);
  return new ort.Tensor('float32', feed.data, [...feed.dims]);
}

function toTensor(t: ort.Tensor): Tensor {
  const dims = [...t.dims];
  const d = t.data;
  if (d instanceof Float32Array) return { dims, data: d };
  if (d instanceof BigInt64Array) return { dims, data: Float32Array.from(d, (x) => Number(x)) };
  if (d instanceof Float64Array || d instanceof Int32Array || d instanceof Uint8Array) return { dims, data: Float32Array.from(d) };
  throw new Error(`output of type ${t.type} cannot be returned as float32`);
}

function wrap(modelPath: string, device: ResolvedDevice, session: ort.InferenceSession): ModelSession {
  return {
    modelPath,
    device,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      const missing = session.inputNames.filter((n) => !(n in feeds));
      if (missing.length > 0) throw new Error(`model ${modelPath}: missing inputs ${missing.join(', ')}`);
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) ortFeeds[name] = toOrt(feed);
      const result = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
      const out: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(result)) out[name] = toTensor(t);
      return out;
    },
    release: () => session.release(),
  };
}

/** Reusable sessions keyed by model path + settings. Owned by its caller; release() frees them all. */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<ModelSession>>();

  constructor(private readonly settings: SessionSettings = {}) {}

  /** Whether a session for this model exists (or is being created). */
  has(modelPath: string): boolean {
    return this.sessions.has(modelPath);
  }

  get(modelPath: string): Promise<ModelSession> {
    const key = modelPath;
    let s = this.sessions.get(key);
    if (!s) {
      s = createSession(modelPath, this.settings);
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s.catch(() => null))?.release();
  }
}
