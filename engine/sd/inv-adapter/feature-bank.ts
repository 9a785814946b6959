// Feature banks (inv-adapter.md §1, ExtractDiffusionFeatures): the reference branch's F_s / F_c of every
// transformer block at every recorded timestep, in one .safetensors file of float16 tensors
// `t<timestep>.<block>.self|cross` [1,s,d], written one step at a time and read back one step at a time,
// so memory holds a single step. Size at 512²: 23.1 M values per step (46.2 MB fp16); 50 steps ≈ 2.31 GB.
import { SafetensorsStreamWriter, openSafetensors, toFloat16, fromFloat16, SafetensorsError } from '../../onnx/index.ts';
import type { SafetensorsFile, StreamEntry } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import { readRecordedFeatures } from '../unet/unet-io.ts';

export const FEATURE_BANK_FORMAT = 'inv-features';
const FEATURE_BANK_VERSION = '1';

export interface BankBlock {
  /** diffusers Transformer2DModel path, e.g. `down_blocks.0.attentions.0`. */
  name: string;
  /** Reference tokens s of the block (H/2^level · W/2^level of the reference latent). */
  tokens: number;
  /** Channels d. */
  width: number;
}

/** A feature bank on disk (the DIFFUSION_FEATURES wire value refers to the file; nothing is held in memory). */
export interface FeatureBank {
  path: string;
  /** unetIdentity of the model that recorded it. */
  model: string;
  /** Recorded timesteps in recording order (descending, the DDIM denoising order). */
  timesteps: number[];
  /** Reference latent [h, w] (pixels / 8). */
  latentSize: [number, number];
  blocks: BankBlock[];
}

export class FeatureBankError extends Error {}

/** readFeatureStep's key of one block's side. */
export function featureStepKey(block: string, side: 'self' | 'cross'): string {
  return `${block}.${side}`;
}

export function featureKey(timestep: number, block: string, side: 'self' | 'cross'): string {
  return `t${timestep}.${block}.${side}`;
}

/** Bytes a bank of `steps` steps takes (float16). */
export function featureBankBytes(blocks: readonly BankBlock[], steps: number): number {
  return steps * blocks.reduce((sum, b) => sum + 2 * b.tokens * b.width, 0) * 2;
}

/** Writes a bank step by step; `finish` makes the file appear under its final name. */
export class FeatureBankWriter {
  private readonly writer: SafetensorsStreamWriter;

  constructor(readonly bank: FeatureBank) {
    const entries: StreamEntry[] = bank.timesteps.flatMap((t) => bank.blocks.flatMap((b) => (['self', 'cross'] as const)
      .map((side) => ({ name: featureKey(t, b.name, side), dtype: 'F16' as const, shape: [1, b.tokens, b.width] }))));
    this.writer = SafetensorsStreamWriter.create(bank.path, entries, {
      format: FEATURE_BANK_FORMAT,
      version: FEATURE_BANK_VERSION,
      model: bank.model,
      timesteps: JSON.stringify(bank.timesteps),
      latent_size: JSON.stringify(bank.latentSize),
      reference_size: `${bank.latentSize[1] * 8}x${bank.latentSize[0] * 8}`,
      blocks: JSON.stringify(bank.blocks),
    });
  }

  /** The next step's features, the outputs of the recordFeatures UNet (batch 1; names: unet-io.ts). */
  writeStep(timestep: number, outputs: Record<string, Tensor>): void {
    const features = readRecordedFeatures(outputs, this.bank.blocks.map((b) => b.name));
    for (const b of this.bank.blocks) {
      for (const side of ['self', 'cross'] as const) this.writer.write(featureKey(timestep, b.name, side), toFloat16(features.get(b.name)![side].data));
    }
  }

  finish(): void {
    this.writer.finish();
  }

  abort(): void {
    this.writer.abort();
  }
}

function parseJson<T>(path: string, key: string, text: string | undefined, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new FeatureBankError(`${path} is not a usable feature bank: its metadata '${key}' is missing or not JSON`);
  }
  if (!check(value)) throw new FeatureBankError(`${path} is not a usable feature bank: its metadata '${key}' is malformed`);
  return value;
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));
const isBlocks = (v: unknown): v is BankBlock[] => Array.isArray(v) && v.every((b) => typeof b === 'object' && b !== null
  && typeof (b as BankBlock).name === 'string' && Number.isSafeInteger((b as BankBlock).tokens) && Number.isSafeInteger((b as BankBlock).width));

/** Opens a bank file and checks that it is complete (every timestep × block × side, float16 [1,s,d]). */
export function openFeatureBank(path: string): FeatureBank {
  let file: SafetensorsFile;
  try {
    file = openSafetensors(path);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new FeatureBankError(`${err.message}; a feature bank is written by ExtractDiffusionFeatures / SaveDiffusionFeatures`);
    throw err;
  }
  if (file.metadata.format !== FEATURE_BANK_FORMAT) {
    throw new FeatureBankError(`${path} is not a diffusion feature bank (__metadata__.format is ${JSON.stringify(file.metadata.format)}, expected "${FEATURE_BANK_FORMAT}"); save one with SaveDiffusionFeatures`);
  }
  const timesteps = parseJson(path, 'timesteps', file.metadata.timesteps, isIntArray);
  const latentSize = parseJson(path, 'latent_size', file.metadata.latent_size, (v): v is [number, number] => isIntArray(v) && v.length === 2);
  const blocks = parseJson(path, 'blocks', file.metadata.blocks, isBlocks);
  if (timesteps.length === 0 || blocks.length === 0) throw new FeatureBankError(`${path} is an empty feature bank (no timesteps or blocks)`);
  for (const t of timesteps) {
    for (const b of blocks) {
      for (const side of ['self', 'cross'] as const) {
        const info = file.tensors.get(featureKey(t, b.name, side));
        if (!info || info.dtype !== 'F16' || info.shape.join(',') !== `1,${b.tokens},${b.width}`) {
          throw new FeatureBankError(`${path} is incomplete or damaged: '${featureKey(t, b.name, side)}' should be F16 [1,${b.tokens},${b.width}]`);
        }
      }
    }
  }
  return { path, model: file.metadata.model ?? '', timesteps, latentSize, blocks };
}

/** The recorded timestep nearest to `timestep` (inv-adapter.md §4 timestep alignment; ties → the later, noisier one). */
export function nearestTimestep(timesteps: readonly number[], timestep: number): number {
  let best = timesteps[0];
  for (const t of timesteps) {
    const d = Math.abs(t - timestep);
    const bestD = Math.abs(best - timestep);
    if (d < bestD || (d === bestD && t > best)) best = t;
  }
  return best;
}

/** Reads one step of a bank as float32 tensors keyed `<block>.self|cross`. */
export function readFeatureStep(bank: FeatureBank, timestep: number, file: SafetensorsFile = openSafetensors(bank.path)): Map<string, Tensor> {
  const step = new Map<string, Tensor>();
  for (const b of bank.blocks) {
    for (const side of ['self', 'cross'] as const) {
      step.set(featureStepKey(b.name, side), { dims: [1, b.tokens, b.width], data: fromFloat16(file.readBytes(featureKey(timestep, b.name, side))) });
    }
  }
  return step;
}
