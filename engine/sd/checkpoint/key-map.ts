// The one table from diffusers / Hugging Face weight names (what the networks read) to the original
// LDM single-file names (sd15-reference.md §2.2). Each function returns the candidate LDM keys, best
// first; the checkpoint uses the first that exists.

export const LDM_UNET_PREFIX = 'model.diffusion_model.';
export const LDM_VAE_PREFIX = 'first_stage_model.';
export const LDM_CLIP_PREFIX = 'cond_stage_model.transformer.';

/** input_blocks per down level in LDM files: resnets + one downsample (SD1.5: 2 + 1). */
const LDM_LAYERS_PER_LEVEL = 3;

const RESNET: Record<string, string> = {
  norm1: 'in_layers.0', conv1: 'in_layers.2', time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0', conv2: 'out_layers.3', conv_shortcut: 'skip_connection',
};

function renameResnetPart(rest: string): string {
  const [part, ...tail] = rest.split('.');
  const mapped = RESNET[part];
  return mapped ? [mapped, ...tail].join('.') : rest;
}

/** UNet: e.g. `down_blocks.1.resnets.0.norm1.weight` → `input_blocks.4.0.in_layers.0.weight`. */
export function unetLdmKeys(name: string): string[] {
  const simple: Array<[RegExp, (m: RegExpMatchArray) => string[]]> = [
    [/^time_embedding\.linear_1\.(.+)$/, (m) => [`time_embed.0.${m[1]}`]],
    [/^time_embedding\.linear_2\.(.+)$/, (m) => [`time_embed.2.${m[1]}`]],
    [/^conv_in\.(.+)$/, (m) => [`input_blocks.0.0.${m[1]}`]],
    [/^conv_norm_out\.(.+)$/, (m) => [`out.0.${m[1]}`]],
    [/^conv_out\.(.+)$/, (m) => [`out.2.${m[1]}`]],
    [/^down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) =>
      [`input_blocks.${LDM_LAYERS_PER_LEVEL * +m[1] + +m[2] + 1}.0.${renameResnetPart(m[3])}`]],
    [/^down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/, (m) => [`input_blocks.${LDM_LAYERS_PER_LEVEL * +m[1] + +m[2] + 1}.1.${m[3]}`]],
    [/^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/, (m) => [`input_blocks.${LDM_LAYERS_PER_LEVEL * (+m[1] + 1)}.0.op.${m[2]}`]],
    [/^mid_block\.resnets\.(\d+)\.(.+)$/, (m) => [`middle_block.${2 * +m[1]}.${renameResnetPart(m[2])}`]],
    [/^mid_block\.attentions\.0\.(.+)$/, (m) => [`middle_block.1.${m[1]}`]],
    [/^up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) => [`output_blocks.${3 * +m[1] + +m[2]}.0.${renameResnetPart(m[3])}`]],
    [/^up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/, (m) => [`output_blocks.${3 * +m[1] + +m[2]}.1.${m[3]}`]],
    // The upsampler follows the attention when the level has one (index 2), else the resnet (index 1).
    [/^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/, (m) =>
      [2, 1].map((sub) => `output_blocks.${3 * +m[1] + 2}.${sub}.conv.${m[2]}`)],
  ];
  for (const [re, fn] of simple) {
    const m = name.match(re);
    if (m) return fn(m).map((k) => LDM_UNET_PREFIX + k);
  }
  return [LDM_UNET_PREFIX + name];
}

const VAE_RESNET: Record<string, string> = { conv_shortcut: 'nin_shortcut' };
const VAE_ATTN: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

function vaeResnetPart(rest: string): string {
  const [part, ...tail] = rest.split('.');
  return [VAE_RESNET[part] ?? part, ...tail].join('.');
}

/**
 * VAE: e.g. `decoder.up_blocks.0.resnets.1.conv1.weight` → `decoder.up.3.block.1.conv1.weight`
 * (decoder levels are numbered in reverse in LDM files; `levels` = number of levels, 4 for SD).
 */
export function vaeLdmKeys(name: string, levels: number): string[] {
  const rules: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
    [/^(encoder|decoder)\.conv_norm_out\.(.+)$/, (m) => `${m[1]}.norm_out.${m[2]}`],
    [/^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) => `encoder.down.${m[1]}.block.${m[2]}.${vaeResnetPart(m[3])}`],
    [/^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/, (m) => `encoder.down.${m[1]}.downsample.conv.${m[2]}`],
    [/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/, (m) => `decoder.up.${levels - 1 - +m[1]}.block.${m[2]}.${vaeResnetPart(m[3])}`],
    [/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/, (m) => `decoder.up.${levels - 1 - +m[1]}.upsample.conv.${m[2]}`],
    [/^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)$/, (m) => `${m[1]}.mid.block_${+m[2] + 1}.${vaeResnetPart(m[3])}`],
    [/^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(.+)$/, (m) => `${m[1]}.mid.attn_1.${VAE_ATTN[m[2]]}.${m[3]}`],
  ];
  for (const [re, fn] of rules) {
    const m = name.match(re);
    if (m) return [LDM_VAE_PREFIX + fn(m)];
  }
  return [LDM_VAE_PREFIX + name];
}

/** Deprecated diffusers VAE attention names (older diffusers-format files). */
export function vaeLegacyDiffusersKeys(name: string): string[] {
  const legacy: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
  const m = name.match(/^(.+\.mid_block\.attentions\.0\.)(to_q|to_k|to_v|to_out\.0)\.(.+)$/);
  return m ? [name, `${m[1]}${legacy[m[2]]}.${m[3]}`] : [name];
}

/** CLIP text encoder (HF names): with or without the `text_model.` level (old transformers versions). */
export function clipLdmKeys(name: string): string[] {
  const keys = [LDM_CLIP_PREFIX + name];
  if (name.startsWith('text_model.')) keys.push(LDM_CLIP_PREFIX + name.slice('text_model.'.length));
  return keys;
}

/** Is this diffusers VAE name a mid-block attention projection (stored as a 1×1 conv in LDM files)? */
export function isVaeAttentionProjection(name: string): boolean {
  return /\.mid_block\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(name);
}
