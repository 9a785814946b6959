// Public surface of engine/sd: SD1.5 checkpoints (single-file LDM or diffusers folder), the networks as
// ONNX graph builders with their cached model files, the CLIP tokenizer, and the runtime that turns
// them into text embeddings, latents and the samplers' ε model.
import './wire-types.ts';
export type { Checkpoint, OpenOptions } from './checkpoint.ts';
export { openCheckpoint, CheckpointError } from './checkpoint.ts';
export type { Sd15Config, UnetConfig, VaeConfig, ClipTextConfig, ConfigHints } from './config.ts';
export { SD15_UNET } from './config.ts';
export type { ClipTextOptions } from './clip-text.ts';
export { buildClipTextGraph, CLIP_TEXT_GRAPH_VERSION } from './clip-text.ts';
export type { VaeOptions } from './vae.ts';
export { buildVaeEncoderGraph, buildVaeDecoderGraph, VAE_GRAPH_VERSION } from './vae.ts';
export type { SdGraph } from './graph-models.ts';
export { sdModelPath } from './graph-models.ts';
export type { UnetVariant, EaaVariant, ControlnetVariant } from './unet.ts';
export { buildUnetGraph, unetModelPath, UNET_GRAPH_VERSION } from './unet.ts';
export type { ClipTokenizer } from './tokenizer.ts';
export { loadTokenizer, CONTEXT_LENGTH } from './tokenizer.ts';
export { parsePromptWeights, chunkWeightedPrompt, applyTokenWeights } from './prompt-weighting.ts';
export type { SdModel, SdClip, SdVae, Conditioning, ConditioningEntry, Latent } from './wire-types.ts';
export { SdRuntime } from './runtime.ts';
export type { SdRuntimeOptions, RuntimeLog } from './runtime.ts';
export { encodeText, encodeTextIds } from './text-encode.ts';
export { encodeImage, decodeLatent } from './vae-codec.ts';
export { createEpsModel, stackEmbeddings, conditioningEmbeds } from './eps-model.ts';
export type { GuidedUnet } from './eps-model.ts';
export { latentToRgb } from './latent-preview.ts';
export type { PreviewPixels } from './latent-preview.ts';
export type { Controlnet, ControlnetConfig } from './controlnet-checkpoint.ts';
export { openControlnet, ControlnetError } from './controlnet-checkpoint.ts';
export type { FusedControlnet } from './unet-controlnet.ts';
export type { SdControlNet, ControlLink } from './wire-types.ts';
export { prepareGuidedUnet, planControl, percentToSigma } from './guided-unet.ts';
export type { GuidedUnetRequest, ControlPlan } from './guided-unet.ts';
