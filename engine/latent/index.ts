// Public surface of engine/latent: the tensor arithmetic of ComfyUI's latent nodes (resize incl. bislerp,
// composite, blend, batch, flip/rotate/crop) on NCHW tensors.
export { LATENT_UPSCALE_METHODS, upscaleLatent, bislerp, cropPlanes, type LatentUpscaleMethod } from './upscale.ts';
export {
  repeatToBatchSize,
  reshapeLatentTo,
  addLatents,
  subtractLatents,
  multiplyLatent,
  blendLatents,
  concatLatents,
  sliceBatch,
  repeatBatch,
  flipLatent,
  rotateLatent,
  cropLatent,
  compositeLatent,
  compositeLatentMasked,
  prepareNoiseMask,
  type PlaneMask,
} from './ops.ts';
