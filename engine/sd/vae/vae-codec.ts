// IMAGE ⇄ LATENT through the VAE graphs, as ComfyUI's VAEEncode / VAEDecode: pixels NHWC 0..1 ↔ NCHW
// −1..1, the posterior mean as the latent (deterministic), decoded images clamped to 0..1.
import type { ImageBatch } from '../../image/index.ts';
import { makeImageBatch } from '../../image/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import type { SdRuntime, RuntimeLog } from '../runtime.ts';
import type { SdVae } from '../wire-types.ts';

/** ComfyUI crops pixels to a multiple of 8 (centred) before encoding. */
function cropBox(image: ImageBatch): { top: number; left: number; height: number; width: number } {
  const height = image.height - (image.height % 8);
  const width = image.width - (image.width % 8);
  if (height === 0 || width === 0) {
    throw new Error(`VAEEncode: the image is ${image.width}×${image.height}; it must be at least 8×8 pixels`);
  }
  return { top: Math.floor((image.height % 8) / 2), left: Math.floor((image.width % 8) / 2), height, width };
}

/** NHWC 0..1 → NCHW −1..1, cropped to a multiple of 8. */
function toModelPixels(image: ImageBatch): Tensor {
  const { height, width, top, left } = cropBox(image);
  const out = new Float32Array(image.batch * 3 * height * width);
  for (let b = 0; b < image.batch; b++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const src = ((b * image.height + y + top) * image.width + x + left) * 3;
        for (let c = 0; c < 3; c++) {
          out[((b * 3 + c) * height + y) * width + x] = image.data[src + c] * 2 - 1;
        }
      }
    }
  }
  return { dims: [image.batch, 3, height, width], data: out };
}

/** NCHW raw decoder output → NHWC clamp((x+1)/2, 0, 1). */
function toImageBatch(decoded: Tensor): ImageBatch {
  const [batch, channels, height, width] = decoded.dims;
  const image = makeImageBatch(batch, height, width);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < height * width; i++) {
        const v = (decoded.data[(b * channels + c) * height * width + i] + 1) / 2;
        image.data[(b * height * width + i) * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return image;
}

export async function encodeImage(runtime: SdRuntime, vae: SdVae, image: ImageBatch, log?: RuntimeLog): Promise<Tensor> {
  const session = await runtime.networkSession(vae.checkpoint, { kind: 'vae-encoder' }, log);
  const { latent } = await session.run({ image: toModelPixels(image) }, ['latent']);
  return latent;
}

/** Decodes one batch item at a time so a large batch does not multiply peak memory. */
export async function decodeLatent(runtime: SdRuntime, vae: SdVae, latent: Tensor, log?: RuntimeLog): Promise<ImageBatch> {
  const session = await runtime.networkSession(vae.checkpoint, { kind: 'vae-decoder' }, log);
  const [batch, channels, h, w] = latent.dims;
  const itemSize = channels * h * w;
  const images: ImageBatch[] = [];
  for (let b = 0; b < batch; b++) {
    const item = latent.data.subarray(b * itemSize, (b + 1) * itemSize);
    const { image } = await session.run({ latent: { dims: [1, channels, h, w], data: item } });
    images.push(toImageBatch(image));
  }
  const first = images[0];
  const all = makeImageBatch(batch, first.height, first.width);
  images.forEach((img, b) => all.data.set(img.data, b * img.data.length));
  return all;
}
