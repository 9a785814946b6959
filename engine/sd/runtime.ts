// The long-lived SD service of one process (the executor's worker): opened checkpoints, built graphs
// (on-disk cache) and reusable onnxruntime sessions, so a second prompt pays for nothing it already has.
import { statSync } from 'node:fs';
import { SessionCache, resolveDevice, describeDevice, LORA_STRENGTHS_INPUT } from '../onnx/index.ts';
import type { ComputeType, Device, ModelSession } from '../onnx/index.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import type { Checkpoint, VaeModel } from './checkpoint/checkpoint.ts';
import { sdModelPath } from './graph-models.ts';
import type { SdGraph } from './graph-models.ts';
import { unetModelPath } from './unet/unet.ts';
import { loraStrengths } from './lora/lora.ts';
import type { UnetVariant } from './unet/unet.ts';
import { taesdModelPath } from './vae/taesd.ts';
import type { TaesdDecoder } from './vae/taesd.ts';

export interface SdRuntimeOptions {
  /** Where built graphs are kept (one folder per checkpoint + variant). */
  cacheDir: string;
  device?: Device;
  /** onnxruntime intra-op threads; 0 = one per physical core. */
  threads?: number;
  /** Weight memory sessions may hold before idle ones are released (bytes); default unlimited. */
  memoryBudgetBytes?: number;
}

/** Reports slow first-use work ("building UNet graph") to whoever runs the node. */
export type RuntimeLog = (message: string) => void;

export class SdRuntime {
  private readonly sessions: SessionCache;
  private readonly checkpoints = new Map<string, { stamp: string; checkpoint: Checkpoint }>();
  private deviceLogged = false;

  constructor(readonly options: SdRuntimeOptions) {
    this.sessions = new SessionCache({ device: options.device ?? 'auto', threads: options.threads ?? 0 }, options.memoryBudgetBytes);
  }

  /** Opens (header only) and remembers a checkpoint; a replaced file is opened again. */
  checkpoint(path: string): Checkpoint {
    const info = statSync(path);
    const stamp = `${info.size}:${info.mtimeMs}`;
    const known = this.checkpoints.get(path);
    if (known && known.stamp === stamp) return known.checkpoint;
    const checkpoint = openCheckpoint(path);
    this.checkpoints.set(path, { stamp, checkpoint });
    return checkpoint;
  }

  /**
   * The activation type of the graphs this runtime builds: float32 on the CPU (onnxruntime computes fp16 there
   * in fp32 anyway), float16 on GPU providers. The VAE stays float32 everywhere: SD1.5's VAE overflows in fp16
   * (diffusers' force_upcast), and it runs once per image.
   */
  get compute(): ComputeType {
    return resolveDevice(this.options.device ?? 'auto') === 'cpu' ? 'float32' : 'float16';
  }

  /** Session for a CLIP / VAE graph of the checkpoint (built and cached on first use). */
  async networkSession(checkpoint: Checkpoint | VaeModel, graph: SdGraph, log?: RuntimeLog): Promise<ModelSession> {
    const withCompute: SdGraph = graph.kind === 'clip-text' ? { ...graph, options: { compute: this.compute, ...graph.options } } : graph;
    const session = await this.sessionFor(graph.kind, () => sdModelPath(this.options.cacheDir, checkpoint, withCompute), log);
    return graph.kind === 'clip-text' && 'textEncoder' in checkpoint ? withLoraStrengths(session, loraStrengths(checkpoint, 'textEncoder')) : session;
  }

  /**
   * Session for a UNet variant (plain, recorded features, EAA, ControlNet), in this runtime's compute type. It
   * takes exactly the inputs the graph declares: the feeds of a model's patches (its LoRA strengths included)
   * come from the patches (model-patches.ts), not from here.
   */
  async unetSession(checkpoint: Checkpoint, variant: UnetVariant = {}, log?: RuntimeLog): Promise<ModelSession> {
    const withCompute: UnetVariant = { compute: this.compute, ...variant };
    return this.sessionFor('unet', () => unetModelPath(this.options.cacheDir, checkpoint, withCompute), log);
  }

  /** Session for a TAESD preview decoder (taesd.ts), built and cached like the other graphs. */
  async taesdSession(decoder: TaesdDecoder, log?: RuntimeLog): Promise<ModelSession> {
    return this.sessionFor('taesd preview decoder', () => taesdModelPath(this.options.cacheDir, decoder), log);
  }

  private async sessionFor(name: string, modelPath: () => { path: string; built: boolean }, log?: RuntimeLog): Promise<ModelSession> {
    const started = performance.now();
    const { path, built } = modelPath();
    if (built) log?.(`built ${name} graph in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (this.sessions.has(path)) return this.sessions.get(path);
    if (!this.deviceLogged) {
      this.deviceLogged = true;
      log?.(describeDevice(this.options.device ?? 'auto'));
    }
    // First use in this process: onnxruntime loads and optimises the weights (seconds for a full model).
    log?.(`loading ${name} into onnxruntime ...`);
    const loading = performance.now();
    const session = await this.sessions.get(path);
    log?.(`${name} loaded on ${session.device} in ${((performance.now() - loading) / 1000).toFixed(1)} s`);
    return session;
  }

  /** Frees every session (POST /free, shutdown). Built graphs stay on disk. */
  async release(): Promise<void> {
    await this.sessions.release();
    this.checkpoints.clear();
  }
}

/** A view of a shared CLIP session that feeds the LoRA strengths of one CLIP (the session itself is cached as
 *  is). The text encoder has no patch mechanism of its own; the UNet's LoRA is a model patch (lora-patch.ts). */
function withLoraStrengths(session: ModelSession, strengths: Float32Array | null): ModelSession {
  // A stack whose LoRAs touch no layer of this network builds a graph without the input.
  if (!strengths || !session.inputNames.includes(LORA_STRENGTHS_INPUT)) return session;
  const feed = { dims: [strengths.length], data: strengths };
  return {
    modelPath: session.modelPath, device: session.device, inputNames: session.inputNames, outputNames: session.outputNames, weightBytes: session.weightBytes,
    run: (feeds, outputs) => session.run({ ...feeds, [LORA_STRENGTHS_INPUT]: feed }, outputs),
    release: () => session.release(),
  };
}

declare module '../graph/node-definition.ts' {
  interface NodeServices {
    /** SD checkpoints, graphs and sessions of this process (absent in hosts that run no models). */
    sd?: SdRuntime;
  }
}
