// comfy.utils.common_upscale for NCHW tensors (LATENT samples): optional centre crop to the target
// aspect, then torch.nn.functional.interpolate (nearest-exact, bilinear, area, bicubic) or ComfyUI's
// bislerp (bilinear steps that slerp the channel vectors, so latents keep their norm).
import { makeTensor, type Tensor } from '../tensor/index.ts';
import { resizePlanes, roundHalfEven } from '../image/index.ts';

export const LATENT_UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'] as const;
export type LatentUpscaleMethod = (typeof LATENT_UPSCALE_METHODS)[number];

function dims4(t: Tensor): [number, number, number, number] {
  if (t.dims.length !== 4) throw new Error(`expected a [batch, channels, height, width] latent, got [${t.dims.join(', ')}]`);
  return t.dims as [number, number, number, number];
}

/** Copies the window [y, y+h) × [x, x+w) of every plane. */
export function cropPlanes(t: Tensor, x: number, y: number, w: number, h: number): Tensor {
  const [n, c, height, width] = dims4(t);
  const out = makeTensor([n, c, h, w]);
  for (let p = 0; p < n * c; p++) {
    for (let row = 0; row < h; row++) {
      const from = (p * height + row + y) * width + x;
      out.data.set(t.data.subarray(from, from + w), (p * h + row) * w);
    }
  }
  return out;
}

/** common_upscale's centre crop: trims the longer side so the aspect matches width/height. */
function cropCenter(t: Tensor, width: number, height: number): Tensor {
  const [, , oldH, oldW] = dims4(t);
  const oldAspect = oldW / oldH;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = roundHalfEven((oldW - oldW * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = roundHalfEven((oldH - oldH * (oldAspect / newAspect)) / 2);
  if (x === 0 && y === 0) return t;
  return cropPlanes(t, x, y, oldW - 2 * x, oldH - 2 * y);
}

/** generate_bilinear_data: torch-bilinear-interpolated source coordinates, their truncated neighbours and
 *  the fractional ratio, computed in float32 as torch does. */
function bilinearData(oldLen: number, newLen: number): { ratio: Float32Array; c1: Int32Array; c2: Int32Array } {
  const coords1 = new Float32Array(oldLen).map((_, i) => i);
  const coords2 = new Float32Array(oldLen).map((_, i) => (i === oldLen - 1 ? i : i + 1));
  const i1 = resizePlanes(coords1, 1, 1, oldLen, 1, newLen, 'bilinear');
  const i2 = resizePlanes(coords2, 1, 1, oldLen, 1, newLen, 'bilinear');
  const ratio = new Float32Array(newLen);
  const c1 = new Int32Array(newLen);
  const c2 = new Int32Array(newLen);
  for (let i = 0; i < newLen; i++) {
    ratio[i] = i1[i] - Math.floor(i1[i]);
    c1[i] = Math.trunc(i1[i]);
    c2[i] = Math.trunc(i2[i]);
  }
  return { ratio, c1, c2 };
}

/** comfy.utils.bislerp's slerp of two channel vectors a, b by r, written into out. */
function slerp(a: Float64Array, b: Float64Array, r: number, out: Float64Array): void {
  const c = a.length;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < c; k++) {
    na += a[k] * a[k];
    nb += b[k] * b[k];
  }
  na = Math.sqrt(na);
  nb = Math.sqrt(nb);
  let dot = 0;
  for (let k = 0; k < c; k++) dot += (na === 0 ? 0 : a[k] / na) * (nb === 0 ? 0 : b[k] / nb);
  if (dot > 1 - 1e-5) {
    out.set(a);
    return;
  }
  if (dot < 1e-5 - 1) {
    for (let k = 0; k < c; k++) out[k] = a[k] * (1 - r) + b[k] * r;
    return;
  }
  const omega = Math.acos(dot);
  const so = Math.sin(omega);
  const wa = Math.sin((1 - r) * omega) / so;
  const wb = Math.sin(r * omega) / so;
  const norm = na * (1 - r) + nb * r;
  for (let k = 0; k < c; k++) out[k] = (wa * (na === 0 ? 0 : a[k] / na) + wb * (nb === 0 ? 0 : b[k] / nb)) * norm;
}

/** One bislerp pass along x (axis 3) or y (axis 2). */
function bislerpAxis(t: Tensor, axis: 2 | 3, newLen: number): Tensor {
  const [n, c, h, w] = dims4(t);
  const outH = axis === 2 ? newLen : h;
  const outW = axis === 3 ? newLen : w;
  const { ratio, c1, c2 } = bilinearData(axis === 3 ? w : h, newLen);
  const out = makeTensor([n, c, outH, outW]);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const r = new Float64Array(c);
  const plane = h * w;
  for (let bi = 0; bi < n; bi++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const i = axis === 3 ? x : y;
        const at1 = axis === 3 ? y * w + c1[i] : c1[i] * w + x;
        const at2 = axis === 3 ? y * w + c2[i] : c2[i] * w + x;
        for (let k = 0; k < c; k++) {
          a[k] = t.data[(bi * c + k) * plane + at1];
          b[k] = t.data[(bi * c + k) * plane + at2];
        }
        slerp(a, b, ratio[i], r);
        for (let k = 0; k < c; k++) out.data[((bi * c + k) * outH + y) * outW + x] = r[k];
      }
    }
  }
  return out;
}

export function bislerp(t: Tensor, width: number, height: number): Tensor {
  return bislerpAxis(bislerpAxis(t, 3, width), 2, height);
}

/** common_upscale: resize the [N, C, H, W] tensor to width × height. */
export function upscaleLatent(t: Tensor, width: number, height: number, method: LatentUpscaleMethod, crop: 'disabled' | 'center'): Tensor {
  const [n, c] = dims4(t);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`latent resize target must be positive whole numbers, got ${width}×${height} (latent pixels)`);
  }
  const source = crop === 'center' ? cropCenter(t, width, height) : t;
  if (method === 'bislerp') return bislerp(source, width, height);
  const [, , h, w] = dims4(source);
  return makeTensor([n, c, height, width], resizePlanes(source.data, n * c, h, w, height, width, method));
}
