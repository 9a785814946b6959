// Latent nodes (comfyui-api.md §7.1): EmptyLatentImage, VAEEncode and VAEDecode.
import { defineNode } from '../engine/graph/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { encodeImage, decodeLatent, decodeLatentTiled } from '../engine/sd/index.ts';
import { sdRuntime } from './sd-services.ts';

const MAX_RESOLUTION = 16384;

export const EmptyLatentImage = defineNode({
  name: 'EmptyLatentImage',
  displayName: 'Empty Latent Image',
  category: 'latent',
  description: 'Create a new batch of empty latent images to be denoised via sampling.',
  inputs: {
    required: {
      width: { kind: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The width of the latent images in pixels.' },
      height: { kind: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The height of the latent images in pixels.' },
      batch_size: { kind: 'INT', default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' },
    },
  },
  outputs: [{ type: 'LATENT', tooltip: 'The empty latent image batch.' }],
  run({ width, height, batch_size }) {
    const channels = 4;
    const dims = [batch_size, channels, Math.floor(height / 8), Math.floor(width / 8)];
    const limit = 2 ** 31 - 1; // one Float32Array
    if (dims.reduce((a, b) => a * b, 1) > limit) {
      throw new Error(`a ${batch_size}×${width}×${height} latent batch is too large to hold in memory; reduce batch_size or the size`);
    }
    return { outputs: [{ samples: makeTensor(dims) }] };
  },
});

export const VAEEncode = defineNode({
  name: 'VAEEncode',
  displayName: 'VAE Encode',
  category: 'latent',
  description: 'Encodes images into latents with the VAE (the posterior mean; sizes are cropped to multiples of 8).',
  inputs: {
    required: {
      pixels: { kind: 'LINK', type: 'IMAGE' },
      vae: { kind: 'LINK', type: 'VAE' },
    },
  },
  outputs: [{ type: 'LATENT' }],
  async run({ pixels, vae }, ctx) {
    const samples = await encodeImage(sdRuntime(ctx), vae, pixels, (m) => ctx.log(m));
    return { outputs: [{ samples }] };
  },
});

export const VAEDecode = defineNode({
  name: 'VAEDecode',
  displayName: 'VAE Decode',
  category: 'latent',
  description: 'Decodes latent images back into pixel space images.',
  inputs: {
    required: {
      samples: { kind: 'LINK', type: 'LATENT', tooltip: 'The latent to be decoded.' },
      vae: { kind: 'LINK', type: 'VAE', tooltip: 'The VAE model used for decoding the latent.' },
    },
  },
  outputs: [{ type: 'IMAGE', tooltip: 'The decoded image.' }],
  async run({ samples, vae }, ctx) {
    const image = await decodeLatent(sdRuntime(ctx), vae, samples.samples, (m) => ctx.log(m));
    return { outputs: [image] };
  },
});

export const VAEDecodeTiled = defineNode({
  name: 'VAEDecodeTiled',
  displayName: 'VAE Decode (Tiled)',
  category: '_for_testing',
  description: 'Decodes latents in overlapping tiles, so large images decode with the memory of one tile. Tiles are normalised separately; the overlap blends the seams.',
  inputs: {
    required: {
      samples: { kind: 'LINK', type: 'LATENT' },
      vae: { kind: 'LINK', type: 'VAE' },
      tile_size: { kind: 'INT', default: 512, min: 64, max: 4096, step: 32, tooltip: 'Tile side in pixels (a multiple of 8).' },
      overlap: { kind: 'INT', default: 64, min: 0, max: 4096, step: 32, tooltip: 'Overlap between tiles in pixels (a multiple of 8, smaller than the tile).' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  async run({ samples, vae, tile_size, overlap }, ctx) {
    const image = await decodeLatentTiled(sdRuntime(ctx), vae, samples.samples, {
      tileSize: tile_size, overlap, onTile: (done, total) => { ctx.throwIfInterrupted(); ctx.progress(done, total); },
    }, (m) => ctx.log(m));
    return { outputs: [image] };
  },
});

export const latentNodes = [EmptyLatentImage, VAEEncode, VAEDecode, VAEDecodeTiled];
