// UpscaleModelLoader and ImageUpscaleWithModel (ComfyUI comfy_extras/nodes_upscale_model.py): an ESRGAN /
// Real-ESRGAN / SRVGGNetCompact file from models/upscale_models, run over an IMAGE in 512 px tiles overlapping
// by 32 px. Glue only: detection, graphs and tiling live in engine/upscale.
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv } from '../engine/graph/index.ts';
import { WEIGHT_FILE } from '../engine/sd/index.ts';
import { openUpscaleModel, upscaleImage } from '../engine/upscale/index.ts';
import { listModels, modelFolders, resolveModel } from './model-files.ts';
import { sdRuntime } from './sd-services.ts';

/** Upscale model files in models/upscale_models (one level of subfolders, as ComfyUI). */
export function listUpscaleModels(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'upscale_models', { file: WEIGHT_FILE });
}

export const UpscaleModelLoader = defineNode({
  name: 'UpscaleModelLoader',
  displayName: 'Load Upscale Model',
  category: 'loaders',
  description: 'Loads an image upscaler from models/upscale_models (.pth, .pt or .safetensors): ESRGAN / Real-ESRGAN RRDBNet (e.g. RealESRGAN_x4plus, 4x-UltraSharp, original or BasicSR keys) or Real-ESRGAN\'s SRVGGNetCompact (e.g. realesr-general-x4v3), told apart by their weights.',
  inputs: {
    required: {
      model_name: { kind: 'COMBO', options: listUpscaleModels, source: (env: DefinitionEnv) => modelFolders(env.folders, 'upscale_models').join(', '), tooltip: 'The upscaler in models/upscale_models.' },
    },
  },
  outputs: [{ type: 'UPSCALE_MODEL' }],
  async run({ model_name }, ctx) {
    const model = openUpscaleModel(resolveModel(ctx.folders, 'upscale_models', model_name));
    ctx.log(`${model_name}: ${model.description}`);
    return { outputs: [model] };
  },
});

export const ImageUpscaleWithModel = defineNode({
  name: 'ImageUpscaleWithModel',
  displayName: 'Upscale Image (using Model)',
  category: 'image/upscaling',
  description: 'Upscales images by the model\'s factor, in 512 px tiles overlapping by 32 px (halved on out-of-memory) so memory follows the tile, not the image; the result is clamped to [0, 1].',
  inputs: {
    required: {
      upscale_model: { kind: 'LINK', type: 'UPSCALE_MODEL' },
      image: { kind: 'LINK', type: 'IMAGE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  async run({ upscale_model, image }, ctx) {
    const { options } = sdRuntime(ctx);
    const { scale } = upscale_model.arch;
    ctx.log(`upscaling ${image.batch} image(s) of ${image.width}x${image.height} to ${image.width * scale}x${image.height * scale}`);
    const upscaled = await upscaleImage(upscale_model, image, {
      cacheDir: options.cacheDir, device: options.device, threads: options.threads, log: (m) => ctx.log(m),
      onTile: (done, total) => {
        ctx.progress(done, total);
        ctx.throwIfInterrupted();
      },
    });
    return { outputs: [upscaled] };
  },
});

export const upscaleNodes = [UpscaleModelLoader, ImageUpscaleWithModel];
