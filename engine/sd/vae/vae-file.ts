// A VAE of its own (ComfyUI's VAELoader: models/vae): an SD1.5 kl-f8 autoencoder in the LDM layout
// (`encoder.down.0.block.0.*`, as vae-ft-mse-840000; with or without the `first_stage_model.` prefix of a
// full checkpoint) or the diffusers layout (`encoder.down_blocks.0.resnets.0.*`), from .safetensors or a
// PyTorch .pt/.ckpt. The VAE graphs read it as they read a checkpoint's VAE.
import { checkpointFingerprint } from '../../onnx/index.ts';
import type { SafetensorsFile } from '../../onnx/index.ts';
import { vaeLdmKeys, vaeLegacyDiffusersKeys, isVaeAttentionProjection, LDM_VAE_PREFIX } from '../checkpoint/key-map.ts';
import { inferVaeConfig } from '../checkpoint/config.ts';
import { mappedWeightSource } from '../checkpoint/mapped-weights.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';
import type { VaeModel } from '../checkpoint/checkpoint.ts';

export class VaeFileError extends Error {}

type Layout = { kind: 'ldm'; prefix: string } | { kind: 'diffusers'; prefix: string };

/** The layout by key names; the prefix is what stands before `encoder.` / `decoder.`. */
function detectLayout(path: string, keys: string[]): Layout {
  for (const prefix of ['', LDM_VAE_PREFIX, 'vae.']) {
    if (keys.includes(`${prefix}decoder.up.0.block.0.conv1.weight`)) return { kind: 'ldm', prefix };
    if (keys.includes(`${prefix}decoder.up_blocks.0.resnets.0.conv1.weight`)) return { kind: 'diffusers', prefix };
  }
  const what = (s: string) => new VaeFileError(`${path} ${s}; VAELoader expects an SD1.5 VAE (keys like decoder.up.0.block.0.conv1.weight or decoder.up_blocks.0.resnets.0.conv1.weight)`);
  if (keys.some((k) => /^(taesd_)?(encoder|decoder)\.layers\./.test(k) || /^\d+\.conv\.\d+\.weight$/.test(k))) throw what('is a TAESD preview autoencoder, which invgraph does not load');
  if (keys.some((k) => k.includes('lora_'))) throw what('is a LoRA, not a VAE; put it in models/loras');
  if (keys.some((k) => k.startsWith('model.diffusion_model.') || k.startsWith('control_model.'))) throw what('holds a UNet / ControlNet but no VAE');
  throw what(`has no VAE tensors; it holds e.g. ${keys.slice(0, 3).join(', ') || 'no tensors'}`);
}

function vaeSource(file: SafetensorsFile, layout: Layout, keys: string[]) {
  const strip = (k: string) => layout.prefix + k.slice(LDM_VAE_PREFIX.length);
  const levels = new Set(keys.map((k) => k.slice(layout.prefix.length).match(/^decoder\.up\.(\d+)\./)?.[1]).filter((x) => x !== undefined)).size;
  const candidates = layout.kind === 'ldm'
    ? (name: string) => vaeLdmKeys(name, levels).map(strip)
    : (name: string) => vaeLegacyDiffusersKeys(name).map((k) => layout.prefix + k);
  return mappedWeightSource(file, {
    candidates,
    missing: (expected) => new VaeFileError(`VAE ${file.path} has no tensor '${expected}': the file is incomplete or not an SD1.5 VAE`),
    // Attention projections stored as 1×1 convs [C,C,1,1] are the same bytes as Linear [C,C].
    adjust: (name, ref) => (isVaeAttentionProjection(name) && ref.shape.length === 4 ? { ...ref, shape: ref.shape.slice(0, 2) } : ref),
  });
}

/** Opens a VAE file; refuses other kinds of model and VAEs of other families, saying what the file is. */
export function openVaeFile(path: string): VaeModel {
  const file = openTensorFile(path, VaeFileError);
  const keys = [...file.tensors.keys()];
  const layout = detectLayout(path, keys);
  const vae = vaeSource(file, layout, keys);
  const config = inferVaeConfig(vae, {});
  if (config.latentChannels !== 4) {
    throw new VaeFileError(`${path} is a VAE with ${config.latentChannels} latent channels (SD3 / Flux family); SD1.5 VAEs have 4`);
  }
  if (config.inChannels !== 3) throw new VaeFileError(`${path} is a VAE for ${config.inChannels}-channel images; SD1.5 VAEs take RGB`);
  return { path, config: { vae: config }, vae, fingerprint: checkpointFingerprint(file) };
}
