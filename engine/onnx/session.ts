// The only module that imports onnxruntime-node: picks the execution provider (--device), creates
// sessions from model files (loaded by path so external weights are memory-mapped) and runs them.
// No globals: callers own a SessionCache (the executor's worker holds one).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor/index.ts';
import { readSidecar } from './model-file.ts';
import { uniqueTempPath } from './temp-path.ts';
import { OPTIMIZED_MODEL, OPTIMIZED_WEIGHTS, completeOptimizedModel, optimizedFolder, optimizedWeightBytes, publishOptimizedModel } from './optimized-model.ts';

const ORT_VERSION = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type ResolvedDevice = Exclude<Device, 'auto'>;

export interface SessionSettings {
  device?: Device;
  /** Intra-op threads; 0 or undefined lets onnxruntime choose (one per physical core). */
  threads?: number;
  /** Graph optimisation level; default 'all' ('basic' for bit-stable parity checks). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * On CPU, keep onnxruntime's optimised copy of each built graph beside it and load that next time
   * (optimized-model.ts); default true. INVGRAPH_ORT_OPTIMIZED_CACHE=0 turns it off everywhere.
   */
  reuseOptimized?: boolean;
  /** Run that first optimisation in a child process (default true; optimize-child.mjs says why). */
  optimizeInChild?: boolean;
}

export type Feed = { dims: readonly number[]; data: Float32Array } | { dims: readonly number[]; data: BigInt64Array; type: 'int64' };

export class DeviceError extends Error {}

export interface ModelSession {
  readonly modelPath: string;
  readonly device: ResolvedDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Resident weight bytes when known (CPU sessions of built graphs), for memory budgets. */
  readonly weightBytes: number | null;
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
    `onnxruntime-node fetches it from NuGet at install time, which this project skips (package.json allowScripts). On a machine that can ` +
    `reach NuGet run \`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js\` ` +
    `(needs CUDA 12 and cuDNN 9; README "GPU (CUDA) setup"), or start with --device cpu.`
  );
}

function providers(device: ResolvedDevice): ort.InferenceSession.ExecutionProviderConfig[] {
  if (device === 'cpu') return ['cpu'];
  return [device, 'cpu'];
}

interface CreatedSession {
  session: ort.InferenceSession;
  /** Resident weight bytes when known (the optimised weights file on CPU). */
  weightBytes: number | null;
}

/** Whether this load may use / write onnxruntime's optimised copy of the model (CPU, full optimisation). */
function reusesOptimized(device: ResolvedDevice, settings: SessionSettings): boolean {
  const level = settings.optimization ?? 'all';
  return device === 'cpu' && (level === 'all' || level === 'extended') && settings.reuseOptimized !== false && process.env.INVGRAPH_ORT_OPTIMIZED_CACHE !== '0';
}

const OPTIMIZE_CHILD = new URL('./optimize-child.mjs', import.meta.url);

/**
 * Writes onnxruntime's optimised form of `modelPath` from a child process (optimize-child.mjs), so the
 * optimisation's peak memory is that process's and is returned when it exits. Resolves false when the
 * child failed (the caller then optimises in process, which reports the real error).
 */
function optimizeInChild(modelPath: string, options: ort.InferenceSession.SessionOptions): Promise<boolean> {
  return new Promise((done) => {
    execFile(process.execPath, [OPTIMIZE_CHILD.pathname, JSON.stringify({ model: modelPath, options })], { maxBuffer: 1 << 20 }, (error) => done(!error));
  });
}

async function createOn(modelPath: string, device: ResolvedDevice, settings: SessionSettings): Promise<CreatedSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: providers(device),
    graphOptimizationLevel: settings.optimization ?? 'all',
    intraOpNumThreads: settings.threads ?? 0,
    // Quiet ORT's per-session warnings (e.g. "some nodes were not assigned to the preferred provider").
    logSeverityLevel: 3,
    // No CPU arena: it keeps a run's peak activations (GBs for a 512² UNet) for the session's life, so the
    // next network's activations stack on top (measured: bench/workflow-memory.ts).
    enableCpuMemArena: false,
  };
  const sidecar = readSidecar(modelPath);
  if (!sidecar?.externalDataFolder) return { session: await ort.InferenceSession.create(modelPath, options), weightBytes: null };
  const gone = sidecar.files.filter((f) => !existsSync(f));
  if (gone.length > 0) throw new Error(`model ${modelPath} reads weights from ${gone.join(', ')}, which no longer exist; delete its cache folder to rebuild`);
  const folder = reusesOptimized(device, settings) ? optimizedFolder(modelPath, device, options.graphOptimizationLevel!, ORT_VERSION) : null;
  const optimized = folder ? completeOptimizedModel(folder) : null;
  if (folder && optimized) {
    try {
      const session = await ort.InferenceSession.create(optimized, { ...options, graphOptimizationLevel: 'disabled' });
      return { session, weightBytes: optimizedWeightBytes(folder) ?? sidecar.weightBytes ?? null };
    } catch {
      rmSync(folder, { recursive: true, force: true }); // unreadable (disk trouble, other build): make it again
    }
  }
  // Loaded from bytes so external data resolves against the checkpoint folder (see model-file.ts); on CPU
  // onnxruntime also writes its optimised form, which later loads read instead.
  const session: Record<string, string> = { model_external_initializers_file_folder_path: sidecar.externalDataFolder };
  const tmp = folder ? uniqueTempPath(folder) : null;
  if (tmp) {
    mkdirSync(tmp, { recursive: true });
    options.optimizedModelFilePath = join(tmp, OPTIMIZED_MODEL);
    session.optimized_model_external_initializers_file_name = OPTIMIZED_WEIGHTS;
    session.optimized_model_external_initializers_min_size_in_bytes = '1024';
  }
  options.extra = { session };
  // First load on CPU: optimise in a child process, then load the saved form here (bench/workflow-memory.ts).
  if (tmp && folder && settings.optimizeInChild !== false && (await optimizeInChild(modelPath, options))) {
    publishOptimizedModel(tmp, folder);
    const saved = completeOptimizedModel(folder);
    if (saved) {
      const { optimizedModelFilePath: _unused, extra: _extra, ...plain } = options;
      return { session: await ort.InferenceSession.create(saved, { ...plain, graphOptimizationLevel: 'disabled' }), weightBytes: optimizedWeightBytes(folder) ?? sidecar.weightBytes ?? null };
    }
    mkdirSync(tmp, { recursive: true });
  }
  try {
    const created = await ort.InferenceSession.create(readFileSync(modelPath), options);
    if (tmp && folder) publishOptimizedModel(tmp, folder);
    return { session: created, weightBytes: (folder ? optimizedWeightBytes(folder) : null) ?? sidecar.weightBytes ?? null };
  } catch (err) {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** 'auto' → CUDA when its library is present, else CPU. */
export function resolveDevice(wanted: Device): ResolvedDevice {
  return wanted === 'auto' ? (cudaLibraryPresent() ? 'cuda' : 'cpu') : wanted;
}

/** One line saying which device `wanted` runs on, and why when 'auto' chose the CPU. */
export function describeDevice(wanted: Device): string {
  const device = resolveDevice(wanted);
  if (wanted !== 'auto') return `device ${device}`;
  if (device === 'cpu') return `device auto → cpu: no GPU provider is installed (${join(bindingFolder(), 'libonnxruntime_providers_cuda.so')} is missing; README "GPU (CUDA) setup"; --device webgpu uses the bundled WebGPU provider)`;
  return `device auto → ${device}`;
}

/** Weight bytes a session of this model will hold: its optimised weights file, else the built graph's own count (0 if unknown). */
export function expectedWeightBytes(modelPath: string, settings: SessionSettings): number {
  const device = resolveDevice(settings.device ?? 'auto');
  const optimized = reusesOptimized(device, settings) ? optimizedWeightBytes(optimizedFolder(modelPath, device, settings.optimization ?? 'all', ORT_VERSION)) : null;
  return optimized ?? readSidecar(modelPath)?.weightBytes ?? 0;
}

/** Creates a session, resolving 'auto' (CUDA when its library is present, else CPU). */
export async function createSession(modelPath: string, settings: SessionSettings = {}): Promise<ModelSession> {
  if (!existsSync(modelPath)) throw new Error(`model file ${modelPath} does not exist`);
  const wanted = settings.device ?? 'auto';
  if (wanted === 'cuda' && !cudaLibraryPresent()) throw new DeviceError(`--device cuda: ${cudaMissingMessage()}`);
  let device = resolveDevice(wanted);
  let session: CreatedSession;
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
  return wrap(modelPath, device, session.session, session.weightBytes);
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

function wrap(modelPath: string, device: ResolvedDevice, session: ort.InferenceSession, weightBytes: number | null): ModelSession {
  return {
    modelPath,
    device,
    weightBytes,
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

interface CachedSession {
  session: Promise<ModelSession>;
  /** Runs in flight: a session is never released under one. */
  running: number;
  lastUsed: number;
}

/**
 * Reusable sessions keyed by model path. Owned by its caller; release() frees them all.
 * With a memory budget, loading a session first releases the least recently used idle ones until the
 * known weight memory fits (sessions of unknown size count as 0). A released session's handle stays
 * valid: its next run loads it again — cheap on CPU, where the optimised form is on disk.
 */
export class SessionCache {
  private readonly sessions = new Map<string, CachedSession>();
  private readonly handles = new Map<string, Promise<ModelSession>>();
  private clock = 0;

  constructor(private readonly settings: SessionSettings = {}, private readonly budgetBytes = Infinity) {}

  /** Whether a session for this model is loaded (or being loaded). */
  has(modelPath: string): boolean {
    return this.sessions.has(modelPath);
  }

  /** Paths of the sessions held now (tests, /system_stats). */
  loaded(): string[] {
    return [...this.sessions.keys()];
  }

  /** The one handle of this model's session (the same object for every caller). */
  get(modelPath: string): Promise<ModelSession> {
    let handle = this.handles.get(modelPath);
    if (!handle) {
      handle = this.makeHandle(modelPath);
      handle.catch(() => this.handles.delete(modelPath));
      this.handles.set(modelPath, handle);
    }
    return handle;
  }

  private async makeHandle(modelPath: string): Promise<ModelSession> {
    const first = await this.acquire(modelPath);
    return {
      modelPath,
      device: first.device,
      inputNames: first.inputNames,
      outputNames: first.outputNames,
      weightBytes: first.weightBytes,
      run: async (feeds, outputs) => {
        const session = await this.acquire(modelPath);
        const entry = this.sessions.get(modelPath);
        if (entry) entry.running++;
        try {
          return await session.run(feeds, outputs);
        } finally {
          if (entry) {
            entry.running--;
            entry.lastUsed = ++this.clock;
          }
        }
      },
      release: () => this.evict(modelPath),
    };
  }

  private async acquire(modelPath: string): Promise<ModelSession> {
    const known = this.sessions.get(modelPath);
    if (known) {
      known.lastUsed = ++this.clock;
      return known.session;
    }
    await this.makeRoom(modelPath);
    const entry: CachedSession = { session: createSession(modelPath, this.settings), running: 0, lastUsed: ++this.clock };
    entry.session.catch(() => this.sessions.delete(modelPath));
    this.sessions.set(modelPath, entry);
    return entry.session;
  }

  /** Releases idle sessions, least recently used first, while the held weights exceed the budget. */
  private async makeRoom(incoming: string): Promise<void> {
    if (!Number.isFinite(this.budgetBytes)) return;
    const held = async () => {
      let total = 0;
      for (const entry of this.sessions.values()) total += (await entry.session.catch(() => null))?.weightBytes ?? 0;
      return total;
    };
    const idle = () => [...this.sessions.entries()].filter(([path, e]) => path !== incoming && e.running === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const incomingBytes = expectedWeightBytes(incoming, this.settings);
    while ((await held()) > 0 && (await held()) + incomingBytes > this.budgetBytes) {
      const victim = idle()[0];
      if (!victim) return;
      await this.evict(victim[0]);
    }
  }

  private async evict(modelPath: string): Promise<void> {
    const entry = this.sessions.get(modelPath);
    if (!entry) return;
    this.sessions.delete(modelPath);
    await (await entry.session.catch(() => null))?.release();
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.handles.clear();
    for (const e of all) await (await e.session.catch(() => null))?.release();
  }
}
