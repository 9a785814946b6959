// VAELoader (ComfyUI nodes.py): a VAE file from models/vae — SD1.5 kl-f8 in LDM or diffusers layout,
// .safetensors or PyTorch .pt/.ckpt — that replaces a checkpoint's VAE wherever its VAE output is wired.
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv } from '../engine/graph/index.ts';
import { openVaeFile, WEIGHT_FILE } from '../engine/sd/index.ts';
import { listModels, resolveModel } from './model-files.ts';

/** VAE files in models/vae (one level of subfolders, as ComfyUI). */
export function listVaes(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'vae', { file: WEIGHT_FILE });
}

export const VAELoader = defineNode({
  name: 'VAELoader',
  displayName: 'Load VAE',
  category: 'loaders',
  description: 'Loads an SD1.5 VAE file (LDM or diffusers layout; .safetensors, .pt or .ckpt) from models/vae, to use instead of the checkpoint\'s VAE.',
  inputs: {
    required: {
      vae_name: { kind: 'COMBO', options: listVaes, tooltip: 'The VAE in models/vae.' },
    },
  },
  outputs: [{ type: 'VAE' }],
  async run({ vae_name }, ctx) {
    const vae = openVaeFile(resolveModel(ctx.folders, 'vae', vae_name));
    ctx.log(`${vae_name}: VAE with widths ${vae.config.vae.blockOutChannels.join('/')}`);
    return { outputs: [{ checkpoint: vae }] };
  },
});
