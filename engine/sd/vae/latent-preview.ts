// Cheap live previews: an SD1.5 latent projected to RGB by a fixed 4×3 linear map (the approximation
// ComfyUI's "latent2rgb" previewer uses for SD1.x latents), no VAE call; or full-size ones from a TAESD decoder
// (taesd.ts), ComfyUI's `--preview-method taesd`.
import type { ModelSession } from '../../onnx/index.ts';

/** SD1.x latent channel → RGB weights (rows = latent channels). */
const SD15_LATENT_RGB: readonly (readonly [number, number, number])[] = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

export interface PreviewPixels {
  width: number;
  height: number;
  /** Interleaved RGB bytes, row-major. */
  rgb: Uint8Array;
}

/** RGB preview of batch item 0 of a [B,4,h,w] model-space latent (one pixel per latent cell). */
export function latentToRgb(latent: Float32Array, dims: readonly number[]): PreviewPixels {
  const [, channels, height, width] = dims;
  if (channels !== SD15_LATENT_RGB.length) throw new Error(`latent preview expects ${SD15_LATENT_RGB.length} channels, got ${channels}`);
  const plane = height * width;
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < channels; k++) v += latent[k * plane + i] * SD15_LATENT_RGB[k][c];
      const byte = Math.round(((v + 1) / 2) * 255);
      rgb[i * 3 + c] = byte < 0 ? 0 : byte > 255 ? 255 : byte;
    }
  }
  return { width, height, rgb };
}

/** A step's preview from its denoised latent [B,4,h,w] (batch item 0), as ComfyUI's previewers make it. */
export type LatentPreviewer = (latent: Float32Array, dims: readonly number[]) => Promise<PreviewPixels>;

export const latent2rgbPreviewer: LatentPreviewer = async (latent, dims) => latentToRgb(latent, dims);

/** A previewer over a TAESD decoder session (taesd.ts): full-size previews, [-1,1] mapped to bytes with rounding
 *  as ComfyUI's preview_to_image. */
export function taesdPreviewer(session: Pick<ModelSession, 'run'>): LatentPreviewer {
  return async (latent, dims) => {
    const [, channels, h, w] = dims;
    const { image } = await session.run({ latent: { dims: [1, channels, h, w], data: latent.subarray(0, channels * h * w) } }, ['image']);
    const [, , height, width] = image.dims;
    const plane = height * width;
    const rgb = new Uint8Array(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.min(1, Math.max(-1, image.data[c * plane + i]));
        rgb[i * 3 + c] = Math.round((v + 1) * 127.5);
      }
    }
    return { width, height, rgb };
  };
}
