// The pixel arithmetic of ComfyUI's inpainting nodes (nodes.py VAEEncodeForInpaint, InpaintModelConditioning,
// ImagePadForOutpaint), on IMAGE [B,H,W,3] and MASK [B,H,W] batches. float32 steps are rounded as torch's are.
import { makeImageBatch, makeMaskBatch, resizePlanes, roundHalfEven } from '../engine/image/index.ts';
import type { ImageBatch, MaskBatch } from '../engine/image/index.ts';

/** The centred crop to a multiple of 8 that ComfyUI's VAE encode applies (offset (size mod 8) // 2). */
export interface VaeCrop {
  top: number;
  left: number;
  height: number;
  width: number;
}

export function vaeCrop(height: number, width: number): VaeCrop {
  const h = height - (height % 8);
  const w = width - (width % 8);
  if (h === 0 || w === 0) throw new Error(`the image is ${width}×${height}; it must be at least 8×8 pixels to encode`);
  return { top: Math.floor((height % 8) / 2), left: Math.floor((width % 8) / 2), height: h, width: w };
}

/** torch interpolate(mask, size, mode="bilinear"): the mask at the pixels' size (unchanged when equal). */
export function maskToSize(mask: MaskBatch, height: number, width: number): MaskBatch {
  if (mask.height === height && mask.width === width) return mask;
  return makeMaskBatch(mask.batch, height, width, resizePlanes(mask.data, mask.batch, mask.height, mask.width, height, width, 'bilinear'));
}

export function cropImage(image: ImageBatch, crop: VaeCrop): ImageBatch {
  if (crop.height === image.height && crop.width === image.width) return image;
  const out = makeImageBatch(image.batch, crop.height, crop.width);
  for (let b = 0; b < image.batch; b++) {
    for (let y = 0; y < crop.height; y++) {
      const from = ((b * image.height + y + crop.top) * image.width + crop.left) * 3;
      out.data.set(image.data.subarray(from, from + crop.width * 3), ((b * crop.height + y) * crop.width) * 3);
    }
  }
  return out;
}

export function cropMask(mask: MaskBatch, crop: VaeCrop): MaskBatch {
  if (crop.height === mask.height && crop.width === mask.width) return mask;
  const out = makeMaskBatch(mask.batch, crop.height, crop.width);
  for (let b = 0; b < mask.batch; b++) {
    for (let y = 0; y < crop.height; y++) {
      const from = (b * mask.height + y + crop.top) * mask.width + crop.left;
      out.data.set(mask.data.subarray(from, from + crop.width), (b * crop.height + y) * crop.width);
    }
  }
  return out;
}

/** The mask resized to the image and both cropped as the VAE will crop the image. */
export function alignMaskForVae(image: ImageBatch, mask: MaskBatch): { pixels: ImageBatch; mask: MaskBatch } {
  const crop = vaeCrop(image.height, image.width);
  return { pixels: cropImage(image, crop), mask: cropMask(maskToSize(mask, image.height, image.width), crop) };
}

/** Pixels under the (rounded) mask set to 0.5 grey: (p − 0.5)·(1 − round(mask)) + 0.5 per channel, in float32.
 *  The mask batch must be 1 or the image's (torch's in-place broadcast). */
export function greyOutMasked(image: ImageBatch, mask: MaskBatch): ImageBatch {
  if (mask.height !== image.height || mask.width !== image.width) {
    throw new Error(`the mask is ${mask.width}×${mask.height}, the image ${image.width}×${image.height}`);
  }
  if (mask.batch !== 1 && mask.batch !== image.batch) {
    throw new Error(`the mask batch (${mask.batch}) must be 1 or match the image batch (${image.batch})`);
  }
  const plane = image.height * image.width;
  const out = makeImageBatch(image.batch, image.height, image.width);
  for (let b = 0; b < image.batch; b++) {
    const mb = mask.batch === 1 ? 0 : b;
    for (let p = 0; p < plane; p++) {
      const keep = 1 - roundHalfEven(mask.data[mb * plane + p]);
      for (let c = 0; c < 3; c++) {
        const at = (b * plane + p) * 3 + c;
        out.data[at] = Math.fround(Math.fround(Math.fround(image.data[at] - 0.5) * keep) + 0.5);
      }
    }
  }
  return out;
}

/**
 * VAEEncodeForInpaint's grown noise mask: conv2d(round(mask), ones(k×k), padding = ceil((k−1)/2)), clamped to
 * 0..1, its first H×W values, rounded: a masked pixel spreads ceil((k−1)/2) down/right and the rest of k−1
 * up/left (an even k grows one pixel more down/right, as there). k = 0 gives round(mask).
 */
export function growInpaintMask(mask: MaskBatch, k: number): MaskBatch {
  const { batch, height, width } = mask;
  const rounded = mask.data.map(roundHalfEven);
  if (k === 0) return makeMaskBatch(batch, height, width, rounded);
  const pad = Math.ceil((k - 1) / 2);
  // The box sum is separable and exact (sums of whole numbers): rows first, then columns.
  const rows = new Float32Array(rounded.length);
  const out = new Float32Array(rounded.length);
  for (let b = 0; b < batch; b++) {
    const base = b * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let dx = Math.max(0, x - pad); dx <= Math.min(width - 1, x - pad + k - 1); dx++) sum += rounded[base + y * width + dx];
        rows[base + y * width + x] = sum;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let dy = Math.max(0, y - pad); dy <= Math.min(height - 1, y - pad + k - 1); dy++) sum += rows[base + dy * width + x];
        out[base + y * width + x] = Math.min(Math.max(sum, 0), 1);
      }
    }
  }
  return makeMaskBatch(batch, height, width, out.map(roundHalfEven));
}

export interface Padding {
  left: number;
  top: number;
  right: number;
  bottom: number;
  feathering: number;
}

/**
 * ImagePadForOutpaint: the image on a 0.5-grey canvas grown by the padding; the mask is 1 on the new border and,
 * inside the original image, ((f − d)/f)² within f pixels of a padded side (d: distance to the nearest padded
 * side), 0 elsewhere. No feathering when 2f is not below both image sides.
 */
export function padForOutpaint(image: ImageBatch, padding: Padding): { image: ImageBatch; mask: MaskBatch } {
  const { left, top, right, bottom, feathering } = padding;
  const [h, w] = [image.height, image.width];
  const [outH, outW] = [h + top + bottom, w + left + right];
  const out = makeImageBatch(image.batch, outH, outW, new Float32Array(image.batch * outH * outW * 3).fill(0.5));
  for (let b = 0; b < image.batch; b++) {
    for (let y = 0; y < h; y++) {
      const from = ((b * h + y) * w) * 3;
      out.data.set(image.data.subarray(from, from + w * 3), ((b * outH + y + top) * outW + left) * 3);
    }
  }
  const mask = makeMaskBatch(1, outH, outW, new Float32Array(outH * outW).fill(1));
  const feather = feathering > 0 && feathering * 2 < h && feathering * 2 < w;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let value = 0;
      if (feather) {
        const d = Math.min(top !== 0 ? i : h, bottom !== 0 ? h - i : h, left !== 0 ? j : w, right !== 0 ? w - j : w);
        if (d < feathering) {
          const v = (feathering - d) / feathering;
          value = v * v;
        }
      }
      mask.data[(i + top) * outW + j + left] = value;
    }
  }
  return { image: out, mask };
}
