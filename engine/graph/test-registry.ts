// Fake core nodes for engine/graph tests: ComfyUI 0.3.64 signatures (comfyui-api.md §7.1) with
// `run` that throws, so graph code is tested without the real nodes/ folder.
import { defineNode, type DefinitionEnv, type NodeDefinition, type NodeRegistry } from './node-definition.ts';

export const SAMPLERS = ['euler', 'euler_ancestral', 'heun', 'dpmpp_2m', 'ddim'];
export const SCHEDULERS = ['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal'];
export const CHECKPOINTS = ['v1-5-pruned-emaonly.safetensors'];
export const INPUT_IMAGES = ['example.png', 'face.jpg'];

export const TEST_ENV: DefinitionEnv = { folders: { input: '/tmp/in', output: '/tmp/out', temp: '/tmp/temp', models: '/tmp/models' } };

function notImplemented(): never {
  throw new Error('not implemented in test');
}

const MAX_RESOLUTION = 16384;

export const checkpointLoaderSimple = defineNode({
  name: 'CheckpointLoaderSimple', displayName: 'Load Checkpoint', category: 'loaders', description: 'Loads a diffusion model checkpoint.',
  inputs: { required: { ckpt_name: { kind: 'COMBO', options: () => [...CHECKPOINTS], tooltip: 'The name of the checkpoint (model) to load.' } } },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
  run: notImplemented,
});

export const clipTextEncode = defineNode({
  name: 'CLIPTextEncode', displayName: 'CLIP Text Encode (Prompt)', category: 'conditioning', description: 'Encodes a text prompt.',
  inputs: { required: { text: { kind: 'STRING', multiline: true, dynamicPrompts: true, maxLength: 100_000 }, clip: { kind: 'LINK', type: 'CLIP' } } },
  outputs: [{ type: 'CONDITIONING' }],
  run: notImplemented,
});

export const emptyLatentImage = defineNode({
  name: 'EmptyLatentImage', displayName: 'Empty Latent Image', category: 'latent', description: 'Creates empty latent images.',
  inputs: {
    required: {
      width: { kind: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8 },
      height: { kind: 'INT', default: 512, min: 16, max: MAX_RESOLUTION, step: 8 },
      batch_size: { kind: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run: notImplemented,
});

export const kSampler = defineNode({
  name: 'KSampler', category: 'sampling', description: 'Denoises the latent image.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL', tooltip: 'The model used for denoising the input latent.' },
      seed: { kind: 'SEED', default: 0, controlAfterGenerate: true, tooltip: 'The random seed used for creating the noise.' },
      steps: { kind: 'INT', default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' },
      cfg: { kind: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01, tooltip: 'The Classifier-Free Guidance scale.' },
      sampler_name: { kind: 'COMBO', options: SAMPLERS, tooltip: 'The algorithm used when sampling.' },
      scheduler: { kind: 'COMBO', options: SCHEDULERS, tooltip: 'The scheduler controls how noise is gradually removed.' },
      positive: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The conditioning to include.' },
      negative: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The conditioning to exclude.' },
      latent_image: { kind: 'LINK', type: 'LATENT', tooltip: 'The latent image to denoise.' },
      denoise: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The amount of denoising applied.' },
    },
  },
  outputs: [{ type: 'LATENT', tooltip: 'The denoised latent.' }],
  run: notImplemented,
});

export const vaeDecode = defineNode({
  name: 'VAEDecode', displayName: 'VAE Decode', category: 'latent', description: 'Decodes latent images back into pixel space images.',
  inputs: { required: { samples: { kind: 'LINK', type: 'LATENT' }, vae: { kind: 'LINK', type: 'VAE' } } },
  outputs: [{ type: 'IMAGE' }],
  run: notImplemented,
});

export const saveImage = defineNode({
  name: 'SaveImage', displayName: 'Save Image', category: 'image', description: 'Saves the input images to your output directory.',
  inputs: {
    required: { images: { kind: 'LINK', type: 'IMAGE' }, filename_prefix: { kind: 'STRING', default: 'ComfyUI' } },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  run: notImplemented,
});

export const loadImage = defineNode({
  name: 'LoadImage', displayName: 'Load Image', category: 'image', description: 'Loads an image from the input folder.',
  inputs: { required: { image: { kind: 'COMBO', options: () => [...INPUT_IMAGES], imageUpload: true } } },
  outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  validate: {
    inputs: ['image'],
    check: (inputs) => (typeof inputs.image === 'string' && !inputs.image.includes('missing') ? true : `Invalid image file: ${String(inputs.image)}`),
  },
  run: notImplemented,
});

export const imageScale = defineNode({
  name: 'ImageScale', displayName: 'Upscale Image', category: 'image/upscaling', description: 'Resizes an image.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      upscale_method: { kind: 'COMBO', options: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] },
      width: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      height: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      crop: { kind: 'COMBO', options: ['disabled', 'center'] },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run: notImplemented,
});

/** A small test-only node with BOOLEAN, an "any of" link type and an optional input. */
export const testMix = defineNode({
  name: 'TestMix', category: 'testing', description: 'Test node.', experimental: true,
  inputs: {
    required: { value: { kind: 'LINK', type: 'FLOAT,INT' }, flag: { kind: 'BOOLEAN', default: false, labelOn: 'yes', labelOff: 'no' } },
    optional: { anything: { kind: 'LINK', type: '*' }, scale: { kind: 'FLOAT', default: 1, forceInput: true } },
  },
  outputs: [{ type: 'INT', name: 'result' }],
  run: notImplemented,
});

/** Like the editor's primitive nodes: one INT widget, one INT output. */
export const testInt = defineNode({
  name: 'TestInt', category: 'testing', description: 'Outputs an integer.',
  inputs: { required: { value: { kind: 'INT', default: 0, min: -100, max: 100000 } } },
  outputs: [{ type: 'INT' }],
  run: notImplemented,
});

/** An output node taking anything, to test "*" links and partial failure. */
export const testSink = defineNode({
  name: 'TestSink', category: 'testing', description: 'Accepts any value.',
  inputs: { required: { value: { kind: 'LINK', type: '*' } } },
  outputs: [],
  outputNode: true,
  run: notImplemented,
});

export function testRegistry(): NodeRegistry {
  const all: NodeDefinition[] = [
    checkpointLoaderSimple, clipTextEncode, emptyLatentImage, kSampler, vaeDecode, saveImage, loadImage, imageScale, testMix, testInt, testSink,
  ] as unknown as NodeDefinition[];
  return new Map(all.map((d) => [d.name, d]));
}
