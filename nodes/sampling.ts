// Sampling nodes (comfyui-api.md §7.1): KSampler and KSamplerAdvanced, with ComfyUI's inputs and defaults.
// Sampler names: ComfyUI's (`ddim` is ComfyUI's DDIM = Euler in σ space), plus `ddim_diffusers`, diffusers'
// DDIMScheduler (eta 0, leading spacing) as the Inv-Adapter paper samples.
import { defineNode } from '../engine/graph/index.ts';
import type { NodeContext } from '../engine/graph/index.ts';
import { SAMPLER_NAMES, SCHEDULER_NAMES, sample } from '../engine/sampling/index.ts';
import type { SampleOptions, StepProgress } from '../engine/sampling/index.ts';
import { createEpsModel, prepareGuidedUnet, latent2rgbPreviewer, modelSchedule } from '../engine/sd/index.ts';
import type { Conditioning, Latent, SdModel } from '../engine/sd/index.ts';
import { encodePreviewJpeg } from '../engine/image/index.ts';
import { prepareNoiseMask } from '../engine/latent/index.ts';
import { sdRuntime } from './sd-services.ts';
import { latentPreviewer, previewMethodFromEnv } from './latent-previewer.ts';

const SAMPLER_TOOLTIP =
  'The algorithm used when sampling. "ddim" is ComfyUI\'s DDIM (Euler steps on the σ schedule); "ddim_diffusers" is diffusers\' DDIMScheduler (eta 0), which the Inv-Adapter paper uses.';

/**
 * Progress every step, with a preview of the current prediction (latent-previewer.ts: latent2rgb by default,
 * TAESD with `--preview-method taesd`). Previews are made off the sampling loop but reported in step order;
 * `settled` waits for the last one. A TAESD decode slower than a step skips previews that a newer step has
 * already replaced (the progress of every step is still sent), so sampling never waits for previews.
 */
export function stepReporter(ctx: NodeContext, dims: readonly number[]): { onStep: (step: StepProgress) => void; settled: () => Promise<void> } {
  const method = previewMethodFromEnv();
  const previewer = latentPreviewer(ctx, method).catch((error: Error) => {
    ctx.log(`${method} previews unavailable (${error.message}); using latent2rgb previews`);
    return latent2rgbPreviewer;
  });
  const itemSize = dims.slice(1).reduce((a, b) => a * b, 1);
  let chain = Promise.resolve();
  let latest = -1;
  const onStep = (step: StepProgress) => {
    latest = step.index;
    // The sampler may reuse its buffer after this call: keep batch item 0 (all a preview shows).
    const item = step.denoised.slice(0, itemSize);
    const progress = (preview?: Uint8Array) => ctx.progress(step.index + 1, step.total, preview && { format: 'JPEG', data: preview });
    chain = chain.then(async () => {
      const make = await previewer;
      const stale = method === 'taesd' && step.index < latest && step.index + 1 < step.total;
      if (!make || stale) return progress();
      const { rgb, width, height } = await make(item, [1, ...dims.slice(1)]);
      return progress(await encodePreviewJpeg(rgb, width, height, { maxSide: MAX_PREVIEW_SIDE }));
    }).catch(() => ctx.progress(step.index + 1, step.total));
  };
  return { onStep, settled: () => chain };
}

/** ComfyUI's default --preview-size: larger previews (TAESD at 8x the latent) are scaled down to it. */
const MAX_PREVIEW_SIDE = 512;

interface SamplingRequest {
  model: SdModel;
  positive: Conditioning;
  negative: Conditioning;
  latent: Latent;
  options: Omit<SampleOptions, 'model' | 'latent'>;
}

async function runSampler(request: SamplingRequest, ctx: NodeContext): Promise<Latent> {
  const runtime = sdRuntime(ctx);
  // One UNet graph for everything the model and conditionings carry: the model's patches (LoRA, EAA, …), whatever
  // they are, then the conditionings' ControlNets (engine/sd model-patch.ts).
  const unet = await prepareGuidedUnet(runtime, {
    model: request.model,
    positive: request.positive,
    negative: request.negative,
    latentDims: request.latent.samples.dims,
    latent: request.latent,
    log: (m) => ctx.log(m),
  });
  const epsModel = createEpsModel(unet);
  const reporter = stepReporter(ctx, request.latent.samples.dims);
  try {
    const samples = await sample({
      ...request.options,
      model: epsModel,
      latent: request.latent.samples,
      denoiser: { conds: unet.conds, prediction: request.model.prediction, rescaleCfg: request.model.rescaleCfg, schedule: modelSchedule(request.model) },
      noiseMask: request.latent.noiseMask === undefined ? undefined : prepareNoiseMask(request.latent.noiseMask, request.latent.samples.dims),
      onStep: reporter.onStep,
      throwIfAborted: () => ctx.throwIfInterrupted(),
    });
    return { samples };
  } finally {
    await reporter.settled();
  }
}

const common = {
  model: { kind: 'LINK', type: 'MODEL', tooltip: 'The model used for denoising the input latent.' },
  steps: { kind: 'INT', default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' },
  cfg: { kind: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01, tooltip: 'The Classifier-Free Guidance scale.' },
  sampler_name: { kind: 'COMBO', options: SAMPLER_NAMES, tooltip: SAMPLER_TOOLTIP },
  scheduler: { kind: 'COMBO', options: SCHEDULER_NAMES, tooltip: 'The scheduler controls how noise is gradually removed to form the image.' },
  positive: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The conditioning describing the attributes you want to include in the image.' },
  negative: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The conditioning describing the attributes you want to exclude from the image.' },
  latent_image: { kind: 'LINK', type: 'LATENT', tooltip: 'The latent image to denoise.' },
} as const;

export const KSampler = defineNode({
  name: 'KSampler',
  displayName: 'KSampler',
  category: 'sampling',
  description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
  inputs: {
    required: {
      model: common.model,
      seed: { kind: 'SEED', default: 0, controlAfterGenerate: true, tooltip: 'The random seed used for creating the noise (0 … 2^64−1, exact).' },
      steps: common.steps,
      cfg: common.cfg,
      sampler_name: common.sampler_name,
      scheduler: common.scheduler,
      positive: common.positive,
      negative: common.negative,
      latent_image: common.latent_image,
      denoise: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The amount of denoising applied; lower values keep more of the input latent (img2img).' },
    },
  },
  outputs: [{ type: 'LATENT', tooltip: 'The denoised latent.' }],
  async run(inputs, ctx) {
    const latent = await runSampler({
      model: inputs.model,
      positive: inputs.positive,
      negative: inputs.negative,
      latent: inputs.latent_image,
      options: { seed: inputs.seed, steps: inputs.steps, cfg: inputs.cfg, sampler: inputs.sampler_name as SampleOptions['sampler'], scheduler: inputs.scheduler, denoise: inputs.denoise },
    }, ctx);
    return { outputs: [latent] };
  },
});

export const KSamplerAdvanced = defineNode({
  name: 'KSamplerAdvanced',
  displayName: 'KSampler (Advanced)',
  category: 'sampling',
  description: 'KSampler with control over noise addition and the step range (start_at_step … end_at_step), for multi-stage sampling.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      add_noise: { kind: 'COMBO', options: ['enable', 'disable'] },
      noise_seed: { kind: 'SEED', default: 0, controlAfterGenerate: true },
      steps: { kind: 'INT', default: 20, min: 1, max: 10000 },
      cfg: { kind: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      sampler_name: { kind: 'COMBO', options: SAMPLER_NAMES },
      scheduler: { kind: 'COMBO', options: SCHEDULER_NAMES },
      positive: { kind: 'LINK', type: 'CONDITIONING' },
      negative: { kind: 'LINK', type: 'CONDITIONING' },
      latent_image: { kind: 'LINK', type: 'LATENT' },
      start_at_step: { kind: 'INT', default: 0, min: 0, max: 10000 },
      end_at_step: { kind: 'INT', default: 10000, min: 0, max: 10000 },
      return_with_leftover_noise: { kind: 'COMBO', options: ['disable', 'enable'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  async run(inputs, ctx) {
    const latent = await runSampler({
      model: inputs.model,
      positive: inputs.positive,
      negative: inputs.negative,
      latent: inputs.latent_image,
      options: {
        seed: inputs.noise_seed,
        steps: inputs.steps,
        cfg: inputs.cfg,
        sampler: inputs.sampler_name as SampleOptions['sampler'],
        scheduler: inputs.scheduler,
        addNoise: inputs.add_noise === 'enable',
        startStep: inputs.start_at_step,
        endStep: inputs.end_at_step,
        returnWithLeftoverNoise: inputs.return_with_leftover_noise === 'enable',
      },
    }, ctx);
    return { outputs: [latent] };
  },
});

export const samplingNodes = [KSampler, KSamplerAdvanced];
