// ComfyUI's inpainting and outpainting nodes (nodes.py): VAEEncodeForInpaint, InpaintModelConditioning,
// ImagePadForOutpaint and LoadImageMask. Inputs, defaults and arithmetic are ComfyUI's; the pixel math is in
// inpaint-pixels.ts, what an inpainting UNet makes of the conditioning in engine/sd/inpaint-concat.ts.
import { readFile } from 'node:fs/promises';
import { defineNode, type NodeDefinition, type DefinitionEnv } from '../engine/graph/index.ts';
import { decodeImage, makeMaskBatch } from '../engine/image/index.ts';
import { encodeImage } from '../engine/sd/index.ts';
import type { Conditioning } from '../engine/sd/index.ts';
import { sdRuntime } from './sd-services.ts';
import { loadImage, listInputImages, resolveImageInput } from './image.ts';
import { alignMaskForVae, greyOutMasked, growInpaintMask, padForOutpaint } from './inpaint-pixels.ts';

const MAX_RESOLUTION = 16384;

export const VAEEncodeForInpaint = defineNode({
  name: 'VAEEncodeForInpaint',
  displayName: 'VAE Encode (for Inpainting)',
  category: 'latent/inpaint',
  description: 'Encodes the image with the masked pixels set to grey (0.5) and attaches the mask, grown by grow_mask_by pixels, as the noise mask. Sizes are cropped to multiples of 8. Use denoise 1.',
  inputs: {
    required: {
      pixels: { kind: 'LINK', type: 'IMAGE' },
      vae: { kind: 'LINK', type: 'VAE' },
      mask: { kind: 'LINK', type: 'MASK' },
      grow_mask_by: { kind: 'INT', default: 6, min: 0, max: 64, step: 1 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  async run({ pixels, vae, mask, grow_mask_by }, ctx) {
    const aligned = alignMaskForVae(pixels, mask);
    const samples = await encodeImage(sdRuntime(ctx), vae, greyOutMasked(aligned.pixels, aligned.mask), (m) => ctx.log(m));
    return { outputs: [{ samples, noiseMask: growInpaintMask(aligned.mask, grow_mask_by) }] };
  },
});

function withConcat(conditioning: Conditioning, concat: Pick<Conditioning[number], 'concatLatent' | 'concatMask'>): Conditioning {
  return conditioning.map((entry) => ({ ...entry, ...concat }));
}

export const InpaintModelConditioning = defineNode({
  name: 'InpaintModelConditioning',
  displayName: 'InpaintModelConditioning',
  category: 'conditioning/inpaint',
  description: 'For inpainting checkpoints (9-channel UNet): gives both conditionings the masked-out image\'s latent and the mask, and returns the whole image\'s latent, with the mask as its noise mask when noise_mask is on. Other checkpoints ignore the conditioning part.',
  inputs: {
    required: {
      positive: { kind: 'LINK', type: 'CONDITIONING' },
      negative: { kind: 'LINK', type: 'CONDITIONING' },
      vae: { kind: 'LINK', type: 'VAE' },
      pixels: { kind: 'LINK', type: 'IMAGE' },
      mask: { kind: 'LINK', type: 'MASK' },
      noise_mask: {
        kind: 'BOOLEAN',
        default: true,
        tooltip: 'Add a noise mask to the latent so sampling will only happen within the mask. Might improve results or completely break things depending on the model.',
      },
    },
  },
  outputs: [{ type: 'CONDITIONING', name: 'positive' }, { type: 'CONDITIONING', name: 'negative' }, { type: 'LATENT', name: 'latent' }],
  async run({ positive, negative, vae, pixels, mask, noise_mask }, ctx) {
    const runtime = sdRuntime(ctx);
    const log = (m: string) => ctx.log(m);
    const aligned = alignMaskForVae(pixels, mask);
    const concatLatent = await encodeImage(runtime, vae, greyOutMasked(aligned.pixels, aligned.mask), log);
    const samples = await encodeImage(runtime, vae, pixels, log);
    const concat = { concatLatent, concatMask: aligned.mask };
    return { outputs: [withConcat(positive, concat), withConcat(negative, concat), noise_mask ? { samples, noiseMask: aligned.mask } : { samples }] };
  },
});

const padInput = { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 } as const;

export const ImagePadForOutpaint = defineNode({
  name: 'ImagePadForOutpaint',
  displayName: 'Pad Image for Outpainting',
  category: 'image',
  description: 'Grows the image by the given borders, filled with grey; the MASK is 1 on the new border and fades ((f − d)/f)² into the image over `feathering` pixels from each padded side.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      left: padInput,
      top: padInput,
      right: padInput,
      bottom: padInput,
      feathering: { kind: 'INT', default: 40, min: 0, max: MAX_RESOLUTION, step: 1 },
    },
  },
  outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  run({ image, left, top, right, bottom, feathering }) {
    const padded = padForOutpaint(image, { left, top, right, bottom, feathering });
    return { outputs: [padded.image, padded.mask] };
  },
});

const MASK_CHANNELS = ['alpha', 'red', 'green', 'blue'] as const;

export const LoadImageMask = defineNode({
  name: 'LoadImageMask',
  displayName: 'Load Image (as Mask)',
  category: 'mask',
  description: 'One channel of an image from the input folder as a MASK: red, green or blue as they are, alpha inverted (1 − alpha; an image without alpha gives zeros). Only the first frame is read.',
  inputs: {
    required: {
      image: { kind: 'COMBO', options: (env: DefinitionEnv) => listInputImages(env.folders), imageUpload: true, source: (env: DefinitionEnv) => `the input folder ${env.folders.input}` },
      channel: { kind: 'COMBO', options: MASK_CHANNELS },
    },
  },
  outputs: [{ type: 'MASK' }],
  validate: loadImage.validate,
  fingerprint: loadImage.fingerprint,
  async run({ image, channel }, ctx) {
    const bytes = await readFile(resolveImageInput(image, ctx.folders));
    const decoded = await decodeImage(bytes, { label: `Image file "${image}"` });
    const { height, width } = decoded.image;
    const plane = height * width;
    const out = makeMaskBatch(1, height, width);
    if (channel === 'alpha') {
      // decodeImage gives 1 − alpha; without alpha its 64×64 zeros, where ComfyUI (converting to RGBA) has zeros of the image's size.
      if (decoded.mask.height === height && decoded.mask.width === width) out.data.set(decoded.mask.data.subarray(0, plane));
    } else {
      const c = MASK_CHANNELS.indexOf(channel as (typeof MASK_CHANNELS)[number]) - 1;
      for (let p = 0; p < plane; p++) out.data[p] = decoded.image.data[p * 3 + c];
    }
    return { outputs: [out] };
  },
});

export const inpaintNodes: readonly NodeDefinition[] = [VAEEncodeForInpaint, InpaintModelConditioning, ImagePadForOutpaint, LoadImageMask];
