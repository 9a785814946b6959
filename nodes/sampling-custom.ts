// ComfyUI's custom-sampling family (comfy_extras/nodes_custom_sampler.py): the sampler, the σ list, the
// noise and the guider as separate values (SAMPLER, SIGMAS, NOISE, GUIDER), put together by SamplerCustom
// or SamplerCustomAdvanced. Same inputs and defaults as ComfyUI; the sampling itself is the engine's
// sampleWithSigmas, the loop KSampler runs after building its own σ list.
import { defineNode } from '../engine/graph/index.ts';
import type { NodeContext } from '../engine/graph/index.ts';
import { K_SAMPLER_NAMES, SCHEDULER_NAMES, computeSigmas, gaussianNoise, sampleWithSigmas } from '../engine/sampling/index.ts';
import type { KSamplerName } from '../engine/sampling/index.ts';
import { createEpsModel, prepareGuidedUnet, modelSchedule } from '../engine/sd/index.ts';
import type { Conditioning, Latent, SdModel } from '../engine/sd/index.ts';
import { prepareNoiseMask } from '../engine/latent/index.ts';
import { sdRuntime } from './sd-services.ts';
import { stepReporter } from './sampling.ts';

/** KSamplerSelect's value: which k-diffusion sampler to run. */
export interface SamplerChoice {
  name: KSamplerName;
}

/** RandomNoise / DisableNoise: the initial noise of a latent (undefined = none) and the seed the sampler's
 *  own noise derives from (DisableNoise: 0, as ComfyUI's Noise_EmptyNoise). */
export interface NoiseSource {
  seed: bigint;
  generate(latent: Latent): Float32Array | undefined;
}

/** CFGGuider / BasicGuider: the model and the guidance to apply at every evaluation. */
export interface Guider {
  model: SdModel;
  positive: Conditioning;
  negative: Conditioning;
  cfg: number;
  /** BasicGuider: no unconditional branch at all (the negative above only fills the slot). */
  withoutUncond?: boolean;
}

declare module '../engine/graph/node-definition.ts' {
  interface WireTypes {
    SAMPLER: SamplerChoice;
    SIGMAS: Float32Array;
    NOISE: NoiseSource;
    GUIDER: Guider;
  }
}

const randomNoise = (seed: bigint): NoiseSource => ({ seed, generate: (latent) => gaussianNoise(seed, latent.samples.dims) });
const noNoise: NoiseSource = { seed: 0n, generate: () => undefined };

/** SamplerCustom(Advanced): run the sampler over the σ list; returns the result and the last step's
 *  prediction of the clean latent (the result itself when no step ran). */
async function runCustom(
  request: { guider: Guider; sampler: SamplerChoice; sigmas: Float32Array; latent: Latent; noise: NoiseSource },
  ctx: NodeContext,
): Promise<[Latent, Latent]> {
  const { guider, latent } = request;
  if (guider.withoutUncond && request.sampler.name.endsWith('_cfg_pp')) {
    // ComfyUI would step along an all-zero unconditional prediction there, which only ruins the image
    throw new Error(`${request.sampler.name} needs an unconditional prediction, and BasicGuider has none; use CFGGuider (cfg 1 is fine) or another sampler`);
  }
  const unet = await prepareGuidedUnet(sdRuntime(ctx), {
    model: guider.model,
    positive: guider.positive,
    negative: guider.negative,
    latentDims: latent.samples.dims,
    latent,
    // The model's patches (LoRA, EAA, …) are applied inside, as for KSampler.
    log: (m) => ctx.log(m),
  });
  const reporter = stepReporter(ctx, latent.samples.dims);
  let denoised: Float32Array | undefined;
  try {
    const samples = await sampleWithSigmas({
      model: createEpsModel(unet),
      cfg: guider.cfg,
      latent: latent.samples,
      denoiser: { conds: unet.conds, prediction: guider.model.prediction, rescaleCfg: guider.model.rescaleCfg, schedule: modelSchedule(guider.model) },
      sampler: request.sampler.name,
      sigmas: request.sigmas,
      noise: request.noise.generate(latent),
      seed: request.noise.seed,
      noiseMask: latent.noiseMask === undefined ? undefined : prepareNoiseMask(latent.noiseMask, latent.samples.dims),
      onStep: (step) => {
        denoised = step.denoised.slice();
        reporter.onStep(step);
      },
      throwIfAborted: () => ctx.throwIfInterrupted(),
    });
    const out: Latent = { ...latent, samples };
    const x0: Latent = denoised === undefined ? out : { ...latent, samples: { dims: [...samples.dims], data: denoised } };
    return [out, x0];
  } finally {
    await reporter.settled();
  }
}

const CATEGORY = 'sampling/custom_sampling';
const latentOutputs = [
  { type: 'LATENT', name: 'output' },
  { type: 'LATENT', name: 'denoised_output' },
] as const;

export const KSamplerSelect = defineNode({
  name: 'KSamplerSelect',
  displayName: 'KSamplerSelect',
  category: `${CATEGORY}/samplers`,
  description: 'Chooses the sampler for SamplerCustom / SamplerCustomAdvanced.',
  inputs: { required: { sampler_name: { kind: 'COMBO', options: K_SAMPLER_NAMES } } },
  outputs: [{ type: 'SAMPLER' }],
  run(inputs) {
    return { outputs: [{ name: inputs.sampler_name as KSamplerName }] };
  },
});

export const BasicScheduler = defineNode({
  name: 'BasicScheduler',
  displayName: 'BasicScheduler',
  category: `${CATEGORY}/schedulers`,
  description: 'The σ list KSampler would use for this scheduler, steps and denoise.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      scheduler: { kind: 'COMBO', options: SCHEDULER_NAMES },
      steps: { kind: 'INT', default: 20, min: 1, max: 10000 },
      denoise: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run(inputs) {
    // ComfyUI: denoise < 1 takes the last steps + 1 σ of an int(steps/denoise)-step schedule, ≤ 0 none
    // The model's own σ table (ModelSamplingDiscrete lcm / zsnr), as ComfyUI's model_sampling.
    return { outputs: [computeSigmas(inputs.scheduler, inputs.steps, inputs.denoise, undefined, modelSchedule(inputs.model))] };
  },
});

export const SplitSigmas = defineNode({
  name: 'SplitSigmas',
  displayName: 'SplitSigmas',
  category: `${CATEGORY}/sigmas`,
  description: 'Splits a σ list at a step: σ[0 … step] and σ[step …] (they share σ[step]).',
  inputs: {
    required: {
      sigmas: { kind: 'LINK', type: 'SIGMAS' },
      step: { kind: 'INT', default: 0, min: 0, max: 10000 },
    },
  },
  outputs: [
    { type: 'SIGMAS', name: 'high_sigmas' },
    { type: 'SIGMAS', name: 'low_sigmas' },
  ],
  run(inputs) {
    return { outputs: [inputs.sigmas.slice(0, inputs.step + 1), inputs.sigmas.slice(inputs.step)] };
  },
});

export const RandomNoise = defineNode({
  name: 'RandomNoise',
  displayName: 'RandomNoise',
  category: `${CATEGORY}/noise`,
  description: 'Seeded initial noise (the same as KSampler\'s for the same seed); the seed also drives the sampler\'s own noise.',
  inputs: { required: { noise_seed: { kind: 'SEED', default: 0, controlAfterGenerate: true } } },
  outputs: [{ type: 'NOISE' }],
  run(inputs) {
    return { outputs: [randomNoise(inputs.noise_seed)] };
  },
});

export const DisableNoise = defineNode({
  name: 'DisableNoise',
  displayName: 'DisableNoise',
  category: `${CATEGORY}/noise`,
  description: 'No initial noise (continue from a latent that already has it); sampler noise from seed 0.',
  inputs: { required: {} },
  outputs: [{ type: 'NOISE' }],
  run() {
    return { outputs: [noNoise] };
  },
});

export const CFGGuider = defineNode({
  name: 'CFGGuider',
  displayName: 'CFGGuider',
  category: `${CATEGORY}/guiders`,
  description: 'Classifier-free guidance with a positive and a negative conditioning.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      positive: { kind: 'LINK', type: 'CONDITIONING' },
      negative: { kind: 'LINK', type: 'CONDITIONING' },
      cfg: { kind: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  run(inputs) {
    return { outputs: [{ model: inputs.model, positive: inputs.positive, negative: inputs.negative, cfg: inputs.cfg }] };
  },
});

export const BasicGuider = defineNode({
  name: 'BasicGuider',
  displayName: 'BasicGuider',
  category: `${CATEGORY}/guiders`,
  description: 'The conditioning alone, no guidance (one model call per evaluation).',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      conditioning: { kind: 'LINK', type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  run(inputs) {
    // cfg 1 never evaluates the negative side, so the positive stands in for it
    return { outputs: [{ model: inputs.model, positive: inputs.conditioning, negative: inputs.conditioning, cfg: 1, withoutUncond: true }] };
  },
});

export const SamplerCustom = defineNode({
  name: 'SamplerCustom',
  displayName: 'SamplerCustom',
  category: CATEGORY,
  description: 'Samples with a chosen sampler over an explicit σ list (from BasicScheduler, SplitSigmas, ...).',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      add_noise: { kind: 'BOOLEAN', default: true },
      noise_seed: { kind: 'SEED', default: 0, controlAfterGenerate: true },
      cfg: { kind: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      positive: { kind: 'LINK', type: 'CONDITIONING' },
      negative: { kind: 'LINK', type: 'CONDITIONING' },
      sampler: { kind: 'LINK', type: 'SAMPLER' },
      sigmas: { kind: 'LINK', type: 'SIGMAS' },
      latent_image: { kind: 'LINK', type: 'LATENT' },
    },
  },
  outputs: latentOutputs,
  async run(inputs, ctx) {
    const seed = inputs.noise_seed;
    // without add_noise the initial noise is off, but the sampler's own noise still follows the seed
    const noise = inputs.add_noise ? randomNoise(seed) : { seed, generate: () => undefined };
    const guider = { model: inputs.model, positive: inputs.positive, negative: inputs.negative, cfg: inputs.cfg };
    return { outputs: await runCustom({ guider, sampler: inputs.sampler, sigmas: inputs.sigmas, latent: inputs.latent_image, noise }, ctx) };
  },
});

export const SamplerCustomAdvanced = defineNode({
  name: 'SamplerCustomAdvanced',
  displayName: 'SamplerCustomAdvanced',
  category: CATEGORY,
  description: 'SamplerCustom with the noise and the guider as inputs.',
  inputs: {
    required: {
      noise: { kind: 'LINK', type: 'NOISE' },
      guider: { kind: 'LINK', type: 'GUIDER' },
      sampler: { kind: 'LINK', type: 'SAMPLER' },
      sigmas: { kind: 'LINK', type: 'SIGMAS' },
      latent_image: { kind: 'LINK', type: 'LATENT' },
    },
  },
  outputs: latentOutputs,
  async run(inputs, ctx) {
    const { noise, guider, sampler, sigmas, latent_image: latent } = inputs;
    return { outputs: await runCustom({ guider, sampler, sigmas, latent, noise }, ctx) };
  },
});

export const samplingCustomNodes = [
  SamplerCustom,
  BasicScheduler,
  KSamplerSelect,
  SplitSigmas,
  CFGGuider,
  BasicGuider,
  RandomNoise,
  DisableNoise,
  SamplerCustomAdvanced,
];
