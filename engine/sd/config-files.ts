// Reads the few numbers weight shapes cannot tell from config files beside a checkpoint: the LDM yaml
// (`<name>.yaml`, else `original_config.yaml` in the same folder — choice, the A1111 convention plus the
// fixture's) and a diffusers folder's config.json files. Only flat `key: value` lines are read.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConfigHints } from './config.ts';

export type FileHints = ConfigHints & { vPrediction?: boolean };

function yamlValue(text: string, key: string): string | undefined {
  const m = text.match(new RegExp(`^\\s*${key}\\s*:\\s*["']?([^"'\\s#]+)`, 'm'));
  return m?.[1];
}

export function sidecarYaml(checkpointPath: string): string | null {
  const own = checkpointPath.replace(/\.safetensors$/, '.yaml');
  if (existsSync(own)) return own;
  const shared = join(dirname(checkpointPath), 'original_config.yaml');
  return existsSync(shared) ? shared : null;
}

export function readLdmYamlHints(checkpointPath: string): FileHints {
  const path = sidecarYaml(checkpointPath);
  if (!path) return {};
  const text = readFileSync(path, 'utf8');
  const unetStart = text.indexOf('unet_config:');
  const unet = unetStart >= 0 ? text.slice(unetStart) : '';
  const hints: FileHints = {};
  const heads = Number(yamlValue(unet, 'num_heads'));
  const headChannels = Number(yamlValue(unet, 'num_head_channels'));
  if (heads > 0) hints.unetHeads = heads;
  else if (headChannels > 0) hints.unetHeadChannels = headChannels;
  const scale = Number(yamlValue(text, 'scale_factor'));
  if (scale > 0) hints.scalingFactor = scale;
  if (yamlValue(text, 'parameterization') === 'v') hints.vPrediction = true;
  return hints;
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export function readDiffusersHints(folder: string): FileHints {
  const unet = readJson(join(folder, 'unet', 'config.json'));
  const clip = readJson(join(folder, 'text_encoder', 'config.json'));
  const vae = readJson(join(folder, 'vae', 'config.json'));
  const scheduler = readJson(join(folder, 'scheduler', 'scheduler_config.json'));
  const hints: FileHints = {};
  // diffusers' `attention_head_dim` is, for SD1.x, the number of heads (sd15-reference.md §1.1).
  const heads = unet.num_attention_heads ?? unet.attention_head_dim;
  if (typeof heads === 'number' || (Array.isArray(heads) && heads.every((h) => typeof h === 'number'))) hints.unetHeads = heads as number | number[];
  if (typeof clip.num_attention_heads === 'number') hints.clipHeads = clip.num_attention_heads;
  if (typeof vae.scaling_factor === 'number') hints.scalingFactor = vae.scaling_factor;
  if (scheduler.prediction_type === 'v_prediction') hints.vPrediction = true;
  return hints;
}
