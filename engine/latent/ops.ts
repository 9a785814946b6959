// The arithmetic behind ComfyUI's latent nodes (nodes.py, comfy_extras/nodes_latent.py, nodes_mask.py),
// on NCHW tensors. Positions and sizes arrive in latent cells (pixels / 8); the nodes convert.
import { makeTensor, type Tensor } from '../tensor/index.ts';
import { resizePlanes } from '../image/index.ts';
import { upscaleLatent, cropPlanes } from './upscale.ts';

function shape(t: Tensor): [number, number, number, number] {
  if (t.dims.length !== 4) throw new Error(`expected a [batch, channels, height, width] latent, got [${t.dims.join(', ')}]`);
  return t.dims as [number, number, number, number];
}

/** comfy.utils.repeat_to_batch_size: the first `batch` items, repeating the batch as often as needed. */
export function repeatToBatchSize(t: Tensor, batch: number): Tensor {
  const [n, ...rest] = t.dims;
  if (n === batch) return t;
  const item = t.data.length / n;
  const out = makeTensor([batch, ...rest]);
  for (let b = 0; b < batch; b++) out.data.set(t.data.subarray((b % n) * item, (b % n + 1) * item), b * item);
  return out;
}

/** reshape_latent_to: a latent of another size is resized (bilinear, centre crop) to the target's,
 *  then its batch repeated to the target's. */
export function reshapeLatentTo(target: readonly number[], t: Tensor): Tensor {
  const [, c, h, w] = shape(t);
  if (c !== target[1]) throw new Error(`the latents have ${target[1]} and ${c} channels; they cannot be combined`);
  const resized = h === target[2] && w === target[3] ? t : upscaleLatent(t, target[3], target[2], 'bilinear', 'center');
  return repeatToBatchSize(resized, target[0]);
}

export function addLatents(a: Tensor, b: Tensor): Tensor {
  const other = reshapeLatentTo(a.dims, b);
  return makeTensor(a.dims, a.data.map((v, i) => v + other.data[i]));
}

export function subtractLatents(a: Tensor, b: Tensor): Tensor {
  const other = reshapeLatentTo(a.dims, b);
  return makeTensor(a.dims, a.data.map((v, i) => v - other.data[i]));
}

export function multiplyLatent(a: Tensor, multiplier: number): Tensor {
  return makeTensor(a.dims, a.data.map((v) => v * multiplier));
}

/** LatentBlend (normal mode): samples1·f + samples2·(1 − f); samples2 of another size is resized
 *  bicubic with a centre crop first. */
export function blendLatents(a: Tensor, b: Tensor, factor: number): Tensor {
  const [n, c, h, w] = shape(a);
  let other = b;
  if (b.dims.some((d, i) => d !== a.dims[i])) {
    if (b.dims[1] !== c) throw new Error(`the latents have ${c} and ${b.dims[1]} channels; they cannot be blended`);
    other = upscaleLatent(b, w, h, 'bicubic', 'center');
    if (other.dims[0] !== n) throw new Error(`the latents hold ${n} and ${other.dims[0]} images; LatentBlend needs equal batches`);
  }
  return makeTensor(a.dims, a.data.map((v, i) => v * factor + other.data[i] * (1 - factor)));
}

/** LatentBatch: samples2 (resized bilinear/centre to samples1's size if needed) after samples1. */
export function concatLatents(a: Tensor, b: Tensor): Tensor {
  const [n, c, h, w] = shape(a);
  const [m, c2] = shape(b);
  if (c2 !== c) throw new Error(`the latents have ${c} and ${c2} channels; they cannot form one batch`);
  const other = b.dims[2] === h && b.dims[3] === w ? b : upscaleLatent(b, w, h, 'bilinear', 'center');
  const out = makeTensor([n + m, c, h, w]);
  out.data.set(a.data, 0);
  out.data.set(other.data, a.data.length);
  return out;
}

/** Items [start, start + length) of the batch. */
export function sliceBatch(t: Tensor, start: number, length: number): Tensor {
  const [, ...rest] = t.dims;
  const item = t.data.length / t.dims[0];
  return makeTensor([length, ...rest], t.data.slice(start * item, (start + length) * item));
}

/** torch's tensor.repeat((amount, 1, 1, 1)): the whole batch `amount` times. */
export function repeatBatch(t: Tensor, amount: number): Tensor {
  const out = makeTensor([t.dims[0] * amount, ...t.dims.slice(1)]);
  for (let k = 0; k < amount; k++) out.data.set(t.data, k * t.data.length);
  return out;
}

/** LatentFlip: "x-axis: vertically" flips rows (dim 2), "y-axis: horizontally" flips columns (dim 3). */
export function flipLatent(t: Tensor, axis: 'vertical' | 'horizontal'): Tensor {
  const [n, c, h, w] = shape(t);
  const out = makeTensor(t.dims);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const from = axis === 'vertical' ? (p * h + h - 1 - y) * w + x : (p * h + y) * w + (w - 1 - x);
        out.data[(p * h + y) * w + x] = t.data[from];
      }
    }
  }
  return out;
}

/** LatentRotate: torch.rot90(k, dims=[3, 2]), i.e. k quarter turns clockwise. */
export function rotateLatent(t: Tensor, quarterTurns: 0 | 1 | 2 | 3): Tensor {
  const [n, c, h, w] = shape(t);
  if (quarterTurns === 0) return t;
  const [oh, ow] = quarterTurns === 2 ? [h, w] : [w, h];
  const out = makeTensor([n, c, oh, ow]);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        // out[i][j] = x[H-1-j][i] (1 turn), x[H-1-i][W-1-j] (2), x[j][W-1-i] (3)
        const [y, x] = quarterTurns === 1 ? [h - 1 - j, i] : quarterTurns === 2 ? [h - 1 - i, w - 1 - j] : [j, w - 1 - i];
        out.data[(p * oh + i) * ow + j] = t.data[(p * h + y) * w + x];
      }
    }
  }
  return out;
}

/** LatentCrop in latent cells: the offset is pulled back so at least 8 cells remain (ComfyUI's
 *  "minimum size of 64"), the window is clipped to the latent as Python slicing clips. */
export function cropLatent(t: Tensor, x: number, y: number, width: number, height: number): Tensor {
  const [, , h, w] = shape(t);
  const left = Math.max(0, Math.min(x, w - 8));
  const top = Math.max(0, Math.min(y, h - 8));
  const cropW = Math.max(0, Math.min(left + width, w) - left);
  const cropH = Math.max(0, Math.min(top + height, h) - top);
  if (cropW === 0 || cropH === 0) throw new Error(`the crop window is empty (latent is ${w * 8}×${h * 8} pixels)`);
  return cropPlanes(t, left, top, cropW, cropH);
}

/** LatentComposite: pastes `from` at (x, y) into `to`, clipped to `to`; with feather > 0 the pasted edges
 *  that lie inside `to` fade in linearly over `feather` cells. */
export function compositeLatent(to: Tensor, from: Tensor, x: number, y: number, feather: number): Tensor {
  const [n, c, h, w] = shape(to);
  const [fn, fc, fh, fw] = shape(from);
  if (fc !== c) throw new Error(`the latents have ${c} and ${fc} channels; they cannot be composited`);
  if (fn !== n && fn !== 1) throw new Error(`samples_from holds ${fn} latents and samples_to ${n}; they must match or samples_from hold 1`);
  const out = makeTensor(to.dims, to.data.slice());
  const ph = Math.max(0, Math.min(fh, h - y));
  const pw = Math.max(0, Math.min(fw, w - x));
  // The fade weights of rows and columns, as ComfyUI's loop multiplies them into its mask.
  const rowWeight = new Float32Array(ph).fill(1);
  const colWeight = new Float32Array(pw).fill(1);
  for (let t = 0; t < feather; t++) {
    const v = Math.fround((1 / feather) * (t + 1));
    if (y !== 0 && t < ph) rowWeight[t] *= v;
    if (y + fh < h && ph - 1 - t >= 0) rowWeight[ph - 1 - t] *= v;
    if (x !== 0 && t < pw) colWeight[t] *= v;
    if (x + fw < w && pw - 1 - t >= 0) colWeight[pw - 1 - t] *= v;
  }
  for (let b = 0; b < n; b++) {
    const fb = fn === 1 ? 0 : b;
    for (let k = 0; k < c; k++) {
      for (let row = 0; row < ph; row++) {
        for (let col = 0; col < pw; col++) {
          const src = from.data[((fb * c + k) * fh + row) * fw + col];
          const at = ((b * c + k) * h + row + y) * w + col + x;
          if (feather === 0) out.data[at] = src;
          else {
            const m = Math.fround(rowWeight[row] * colWeight[col]);
            out.data[at] = src * m + out.data[at] * (1 - m);
          }
        }
      }
    }
  }
  return out;
}

export interface PlaneMask {
  batch: number;
  height: number;
  width: number;
  data: Float32Array;
}

/** nodes_mask.composite with multiplier 8: `source` (optionally resized bilinear to the destination)
 *  blended into `destination` at cell (left, top) by the mask (bilinear-resized to the source). */
export function compositeLatentMasked(destination: Tensor, source: Tensor, left: number, top: number, resizeSource: boolean, mask?: PlaneMask): Tensor {
  const [n, c, h, w] = shape(destination);
  const [, sc, sh0, sw0] = shape(source);
  if (sc !== c) throw new Error(`the latents have ${c} and ${sc} channels; they cannot be composited`);
  let src = source;
  if (resizeSource && (sh0 !== h || sw0 !== w)) src = upscaleLatent(source, w, h, 'bilinear', 'disabled');
  src = repeatToBatchSize(src, n);
  const [, , sh, sw] = shape(src);
  let m: Tensor | undefined;
  if (mask !== undefined) {
    const planes = resizePlanes(mask.data, mask.batch, mask.height, mask.width, sh, sw, 'bilinear');
    m = repeatToBatchSize(makeTensor([mask.batch, 1, sh, sw], planes), n);
  }
  const visW = Math.min(sw, w - left);
  const visH = Math.min(sh, h - top);
  const out = makeTensor(destination.dims, destination.data.slice());
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      for (let row = 0; row < visH; row++) {
        for (let col = 0; col < visW; col++) {
          const weight = m === undefined ? 1 : m.data[(b * sh + row) * sw + col];
          const at = ((b * c + k) * h + row + top) * w + col + left;
          out.data[at] = weight * src.data[((b * c + k) * sh + row) * sw + col] + (1 - weight) * out.data[at];
        }
      }
    }
  }
  return out;
}

/** comfy.sampler_helpers.prepare_mask: the noise mask resized (bilinear) to the latent's cells, the same
 *  for every channel, its batch repeated to the latent's. One value per latent element. */
export function prepareNoiseMask(mask: PlaneMask, dims: readonly number[]): Float32Array {
  const [n, c, h, w] = dims;
  const planes = resizePlanes(mask.data, mask.batch, mask.height, mask.width, h, w, 'bilinear');
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    const plane = planes.subarray((b % mask.batch) * h * w, ((b % mask.batch) + 1) * h * w);
    for (let k = 0; k < c; k++) out.set(plane, (b * c + k) * h * w);
  }
  return out;
}
