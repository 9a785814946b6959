// What an inpainting UNet (conv_in takes 9 channels) gets beside the noisy latent: [mask (1), masked-image
// latent (4)] per row, as ComfyUI's BaseModel.concat_cond with concat_keys ("mask", "masked_image")
// (comfy/model_base.py), computed per conditioning side so uncond and cond rows each get their own.
import { makeTensor } from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { MaskBatch } from '../image/index.ts';
import { roundHalfEven } from '../image/index.ts';
import { prepareNoiseMask, upscaleLatent } from '../latent/index.ts';
import type { ConditioningEntry, Latent } from './wire-types.ts';

/** set_inpaint's blank_inpaint_image_like: pixel-space "zero" in latent space, used when no mask is given. */
const BLANK_LATENT = [0.8223, -0.6876, 0.6364, 0.138];

/** comfy.utils.resize_to_batch_size: fewer items are picked evenly spread, more are stretched by repetition. */
export function resizeToBatchSize(t: Tensor, batch: number): Tensor {
  const [n, ...rest] = t.dims;
  if (n === batch) return t;
  const item = t.data.length / n;
  const out = makeTensor([batch, ...rest]);
  for (let i = 0; i < batch; i++) {
    const from = batch === 1 ? 0
      : batch < n ? Math.min(roundHalfEven(i * ((n - 1) / (batch - 1))), n - 1)
        : Math.min(Math.floor((i + 0.5) * (n / batch)), n - 1);
    out.data.set(t.data.subarray(from * item, (from + 1) * item), i * item);
  }
  return out;
}

/** The mask channel [B,1,h,w]: concat_mask (any size, bilinear with centre crop to the latent) or else the latent's
 *  noise mask as the sampler prepares it (its first channel), rounded; undefined when neither exists. */
function maskChannel(concatMask: MaskBatch | undefined, latent: Latent): Tensor | undefined {
  const [batch, channels, height, width] = latent.samples.dims;
  let mask: Tensor;
  if (concatMask) {
    mask = makeTensor([concatMask.batch, 1, concatMask.height, concatMask.width], concatMask.data);
    if (concatMask.height !== height || concatMask.width !== width) mask = upscaleLatent(mask, width, height, 'bilinear', 'center');
  } else if (latent.noiseMask) {
    const prepared = prepareNoiseMask(latent.noiseMask, latent.samples.dims);
    const plane = height * width;
    mask = makeTensor([batch, 1, height, width]);
    for (let b = 0; b < batch; b++) mask.data.set(prepared.subarray(b * channels * plane, b * channels * plane + plane), b * plane);
  } else {
    return undefined;
  }
  return resizeToBatchSize(makeTensor(mask.dims, mask.data.map(roundHalfEven)), batch);
}

/**
 * The concat input [B,5,h,w] for the rows of one conditioning side and the latent being sampled (model space):
 * with a mask (the entry's concat_mask, else the latent's noise mask) → [round(mask), the entry's concat latent
 * or else the latent itself]; with no mask at all → [1, blank latent].
 */
export function inpaintConcat(entry: Pick<ConditioningEntry, 'concatLatent' | 'concatMask'> | undefined, latent: Latent): Tensor {
  const [batch, channels, height, width] = latent.samples.dims;
  const plane = height * width;
  const out = makeTensor([batch, 1 + channels, height, width]);
  const mask = maskChannel(entry?.concatMask, latent);
  if (!mask) {
    for (let b = 0; b < batch; b++) {
      const base = b * (1 + channels) * plane;
      out.data.fill(1, base, base + plane);
      for (let c = 0; c < channels; c++) out.data.fill(Math.fround(BLANK_LATENT[c] ?? 0), base + (1 + c) * plane, base + (2 + c) * plane);
    }
    return out;
  }
  let image = entry?.concatLatent ?? latent.samples;
  if (image.dims[1] !== channels) throw new Error(`the inpainting latent has ${image.dims[1]} channels, the latent being sampled ${channels}`);
  if (image.dims[2] !== height || image.dims[3] !== width) image = upscaleLatent(image, width, height, 'bilinear', 'center');
  image = resizeToBatchSize(image, batch);
  for (let b = 0; b < batch; b++) {
    const base = b * (1 + channels) * plane;
    out.data.set(mask.data.subarray(b * plane, (b + 1) * plane), base);
    out.data.set(image.data.subarray(b * channels * plane, (b + 1) * channels * plane), base + plane);
  }
  return out;
}
