// Public surface of engine/sampling: SD1.5 noise schedule, ComfyUI schedulers and samplers, diffusers DDIM
// and DDIM inversion, seeded noise. The network is injected as an EpsModel (model.ts documents the contract).

export type { ModelCall, EpsModel, StepProgress, LoopOptions, CondChunk, DenoiserOptions } from './model.ts';
export { callChunks } from './model.ts';
export type { GuidanceConds, GuidanceEntry, LatentArea } from './area-guidance.ts';
export { PREDICTION_TYPES, checkPrediction, type Prediction } from './prediction.ts';
export { SamplingInputError } from './errors.ts';
export { SCHEDULER_NAMES, type SchedulerName, ddimTimesteps, ddimInverseTimesteps } from './schedulers.ts';
export { computeSigmas } from './sigmas.ts';
export {
  SAMPLER_NAMES,
  K_SAMPLER_NAMES,
  type SamplerName,
  type KSamplerName,
  type SampleOptions,
  type SigmaSampleOptions,
  sample,
  sampleWithSigmas,
} from './sample.ts';
export { invertDdim, type InversionOptions, type InversionResult } from './ddim-inversion.ts';
export { gaussianNoise, checkSeed } from './noise.ts';
export { torchRandn } from './torch-noise.ts';
export {
  TRAIN_STEPS,
  diffusersSchedule,
  sigmaSchedule,
  timestepFromSigma,
  sigmaFromTimestep,
  percentToSigma,
  distilledSchedule,
  zeroTerminalSnrSchedule,
  type DiffusersSchedule,
  type SigmaSchedule,
} from './schedule.ts';
