// The reference branch of Inv-Adapter (inv-adapter.md §1): face crop → VAE latent P_0 → DDIM inversion to
// P_T with the caption (guidance 1) → ordinary DDIM denoising from P_T with the caption, recording every
// transformer block's F_s / F_c at every step into a feature bank on disk (feature-bank.ts).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { invertDdim, sample } from '../../sampling/index.ts';
import type { EpsModel, StepProgress } from '../../sampling/index.ts';
import type { ImageBatch } from '../../image/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import type { Conditioning, SdModel, SdVae } from '../wire-types.ts';
import type { SdRuntime, RuntimeLog } from '../runtime.ts';
import { encodeImage } from '../vae/vae-codec.ts';
import { createEpsModel, conditioningEmbeds, stackEmbeddings } from '../eps-model.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { unetFeeds, recordedFeature, UNET_OUTPUT } from '../unet/unet-io.ts';
import { unetIdentity } from './inv-adapter-weights.ts';
import { FeatureBankWriter, openFeatureBank } from './feature-bank.ts';
import { eaaOf } from './eaa-patch.ts';
import { prepareModelPatch } from '../model-patches.ts';
import type { PreparedPatch } from '../model-patch.ts';
import type { FeatureBank } from './feature-bank.ts';

/** The INVERSION wire value. */
export interface Inversion {
  /** steps + 1 latents [1,4,h,w] in DDPM space: [0] = P_0, [i + 1] = the latent at timesteps[i]; the last is P_T. */
  latents: Tensor[];
  /** Ascending inversion timesteps (1, 21, …, 981 for 50 steps). */
  timesteps: number[];
  /** unetIdentity of the model that inverted. */
  model: string;
  steps: number;
}

export class InvAdapterInputError extends Error {}

export interface LoopHooks {
  onStep?: (progress: StepProgress) => void;
  throwIfAborted?: () => void;
  log?: RuntimeLog;
}

function checkBaseModel(model: SdModel, node: string): void {
  if (eaaOf(model)) throw new InvAdapterInputError(`${node} needs the base model, but this MODEL is already patched by EAAInject; connect the checkpoint loader's MODEL directly`);
}

export interface InversionRequest extends LoopHooks {
  model: SdModel;
  vae: SdVae;
  /** One face image (NHWC 0..1). */
  image: ImageBatch;
  caption: Conditioning;
  steps: number;
}

/** VAE posterior mean × scaling factor, then DDIM inversion with guidance 1 conditioned on the caption. */
export async function invertImage(runtime: SdRuntime, request: InversionRequest): Promise<Inversion> {
  checkBaseModel(request.model, 'DDIMInvert');
  if (request.image.batch !== 1) {
    throw new InvAdapterInputError(`DDIMInvert inverts one face image, but the IMAGE batch holds ${request.image.batch}; pass a single image`);
  }
  const caption = conditioningEmbeds(request.caption, 'caption');
  const latent = await encodeImage(runtime, request.vae, request.image, request.log);
  // The model's other patches (e.g. its LoRA) apply as when sampling.
  const patch = prepareModelPatch(request.model, request.log);
  const session = await runtime.unetSession(request.model.checkpoint, patch.variant, request.log);
  const model = createEpsModel({ session, positive: caption, negative: caption, extraFeeds: patch.extraFeeds });
  const result = await invertDdim({ model, latent, steps: request.steps, cfg: 1, onStep: request.onStep, throwIfAborted: request.throwIfAborted });
  return { latents: result.latents, timesteps: result.timesteps, model: unetIdentity(request.model.checkpoint), steps: request.steps };
}

export interface ExtractionRequest extends LoopHooks {
  model: SdModel;
  inversion: Inversion;
  caption: Conditioning;
  /** Folder for bank files (named by content, so an identical request reuses the file). */
  folder: string;
}

/** Content key of a bank: model, schedule, P_T and caption. */
function bankName(inversion: Inversion, caption: Tensor): string {
  const last = inversion.latents[inversion.latents.length - 1];
  const hash = createHash('sha256')
    .update(JSON.stringify({ v: 1, model: inversion.model, timesteps: inversion.timesteps, latent: last.dims, caption: caption.dims }))
    .update(new Uint8Array(last.data.buffer, last.data.byteOffset, last.data.byteLength))
    .update(new Uint8Array(caption.data.buffer, caption.data.byteOffset, caption.data.byteLength));
  return `bank-${hash.digest('hex').slice(0, 32)}.safetensors`;
}

/** An ε model over the recordFeatures UNet (batch 1, caption only) that hands each step's features to `record`. */
function recordingModel(session: Awaited<ReturnType<SdRuntime['unetSession']>>, patch: PreparedPatch, caption: Tensor, outputs: string[], record: (timestep: number, features: Record<string, Tensor>) => void): EpsModel {
  const hidden = stackEmbeddings([caption], 1);
  return async (call) => {
    if (call.dims[0] !== 1 || call.guidance !== 'cond') throw new Error('feature recording runs one conditional row per step');
    const result = await session.run(
      {
        ...unetFeeds({ sample: { dims: call.dims, data: call.sample }, timestep: { dims: [1], data: Float32Array.of(call.timestep) }, encoderHiddenStates: hidden }),
        ...patch.extraFeeds?.(call, 1),
      },
      [UNET_OUTPUT, ...outputs],
    );
    record(call.timestep, result);
    return result[UNET_OUTPUT].data;
  };
}

/**
 * DDIM denoising from P_T with the caption, guidance 1, over the inversion's timesteps (descending), through
 * the recordFeatures UNet; each step's F_s / F_c go straight to the bank file, so memory holds one step.
 */
export async function extractFeatures(runtime: SdRuntime, request: ExtractionRequest): Promise<FeatureBank> {
  checkBaseModel(request.model, 'ExtractDiffusionFeatures');
  const { inversion } = request;
  const checkpoint = request.model.checkpoint;
  if (unetIdentity(checkpoint) !== inversion.model) {
    throw new InvAdapterInputError('ExtractDiffusionFeatures: the INVERSION was made with another model than this MODEL; use the same checkpoint for DDIMInvert and ExtractDiffusionFeatures');
  }
  const caption = conditioningEmbeds(request.caption, 'caption');
  const start = inversion.latents[inversion.latents.length - 1];
  const [, , h, w] = start.dims;
  const blocks = transformerBlocks(checkpoint.config.unet).map((b) => {
    const side = (n: number) => { let s = n; for (let l = 0; l < b.level; l++) s = Math.ceil(s / 2); return s; };
    return { name: b.name, tokens: side(h) * side(w), width: b.width };
  });
  mkdirSync(request.folder, { recursive: true });
  const path = join(request.folder, bankName(inversion, caption));
  if (existsSync(path)) {
    request.log?.(`reusing feature bank ${path}`);
    return openFeatureBank(path);
  }
  const bank: FeatureBank = { path, model: inversion.model, timesteps: [...inversion.timesteps].reverse(), latentSize: [h, w], blocks };
  const patch = prepareModelPatch(request.model, request.log);
  const session = await runtime.unetSession(checkpoint, { ...patch.variant, recordFeatures: true }, request.log);
  const outputs = blocks.flatMap((b) => [recordedFeature(b.name, 'self'), recordedFeature(b.name, 'cross')]);
  const writer = new FeatureBankWriter(bank);
  try {
    const model = recordingModel(session, patch, caption, outputs, (timestep, features) => writer.writeStep(timestep, features));
    await sample({
      model, cfg: 1, sampler: 'ddim_diffusers', scheduler: 'normal', steps: inversion.steps, seed: 0n, addNoise: false,
      latent: start, onStep: request.onStep, throwIfAborted: request.throwIfAborted,
    });
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return bank;
}
