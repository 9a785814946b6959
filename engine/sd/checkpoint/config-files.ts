// Reads the few numbers weight shapes cannot tell from config files beside a model file:
// - the LDM yaml (`<name>.yaml`, else `original_config.yaml` in the same folder — choice, the A1111
//   convention plus the fixture layout's);
// - a diffusers folder's config.json files;
// - a fixture folder's `config.json` (test/fixtures/sd15-tiny/README.md), which names the checkpoint and
//   ControlNet files it describes and holds every architecture number.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ConfigHints } from './config.ts';

export type FileHints = ConfigHints & { vPrediction?: boolean };

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path of plain objects, or undefined. */
function at(tree: unknown, path: string): unknown {
  let node: unknown = tree;
  for (const key of path.split('.')) {
    if (!isTree(node)) return undefined;
    node = node[key];
  }
  return node;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function headList(value: unknown): number | number[] | undefined {
  if (Array.isArray(value) && value.length > 0 && value.every((h) => positive(h) !== undefined)) return value as number[];
  return positive(value);
}

export function readYamlFile(path: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid YAML: ${(err as Error).message}`);
  }
}

function readJson(path: string): Tree {
  if (!existsSync(path)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return isTree(value) ? value : {};
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `<name>.yaml` beside a model file (any extension), else `original_config.yaml` in its folder. */
export function sidecarYaml(modelPath: string): string | null {
  const own = join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.yaml`);
  if (existsSync(own)) return own;
  const shared = join(dirname(modelPath), 'original_config.yaml');
  return existsSync(shared) ? shared : null;
}

/** UNet heads of an LDM `unet_config` / `control_stage_config` params block (`num_heads` or `num_head_channels`). */
export function ldmHeadHints(params: unknown): Pick<ConfigHints, 'unetHeads' | 'unetHeadChannels'> {
  const heads = positive(at(params, 'num_heads'));
  if (heads) return { unetHeads: heads };
  const channels = positive(at(params, 'num_head_channels'));
  return channels ? { unetHeadChannels: channels } : {};
}

/**
 * Hints from an LDM yaml (v1-inference.yaml form). The text encoder's heads are read from
 * `model.params.cond_stage_config.params.num_heads` when present (invgraph's documented extension: standard
 * CLIP widths need none).
 */
export function readLdmYamlHints(checkpointPath: string): FileHints {
  const path = sidecarYaml(checkpointPath);
  if (!path) return {};
  const model = at(readYamlFile(path), 'model.params');
  const hints: FileHints = { ...ldmHeadHints(at(model, 'unet_config.params')) };
  const clipHeads = positive(at(model, 'cond_stage_config.params.num_heads'));
  if (clipHeads) hints.clipHeads = clipHeads;
  const scale = at(model, 'scale_factor');
  if (typeof scale === 'number' && scale > 0) hints.scalingFactor = scale;
  if (at(model, 'parameterization') === 'v') hints.vPrediction = true;
  return hints;
}

export function readDiffusersHints(folder: string): FileHints {
  const unet = readJson(join(folder, 'unet', 'config.json'));
  const clip = readJson(join(folder, 'text_encoder', 'config.json'));
  const vae = readJson(join(folder, 'vae', 'config.json'));
  const scheduler = readJson(join(folder, 'scheduler', 'scheduler_config.json'));
  const hints: FileHints = {};
  // diffusers' `attention_head_dim` is, for SD1.x, the number of heads (sd15-reference.md §1.1).
  const heads = headList(unet.num_attention_heads ?? unet.attention_head_dim);
  if (heads) hints.unetHeads = heads;
  const clipHeads = positive(clip.num_attention_heads);
  if (clipHeads) hints.clipHeads = clipHeads;
  if (typeof vae.scaling_factor === 'number') hints.scalingFactor = vae.scaling_factor;
  if (scheduler.prediction_type === 'v_prediction') hints.vPrediction = true;
  return hints;
}

/** ControlNet heads from an LDM yaml (cldm_v15.yaml form: model.params.control_stage_config.params). */
export function readLdmControlnetHints(yamlPath: string): Pick<ConfigHints, 'unetHeads' | 'unetHeadChannels'> {
  return ldmHeadHints(at(readYamlFile(yamlPath), 'model.params.control_stage_config.params'));
}

/** A fixture folder's config.json, when it describes `modelPath` (its checkpoint or ControlNet file). */
function fixtureConfigFor(modelPath: string, fileKey: 'file' | 'controlnet_file'): Tree | null {
  const path = join(dirname(modelPath), 'config.json');
  if (!existsSync(path)) return null;
  const config = readJson(path);
  return at(config, `checkpoint.${fileKey}`) === basename(modelPath) ? config : null;
}

/** Checkpoint hints from a fixture folder's config.json (clip_text, unet sections). */
export function readFixtureCheckpointHints(checkpointPath: string): FileHints {
  const config = fixtureConfigFor(checkpointPath, 'file');
  if (!config) return {};
  const hints: FileHints = {};
  const clipHeads = positive(at(config, 'clip_text.num_attention_heads'));
  if (clipHeads) hints.clipHeads = clipHeads;
  const unetHeads = headList(at(config, 'unet.diffusers_config.num_attention_heads') ?? at(config, 'unet.diffusers_config.attention_head_dim') ?? at(config, 'unet.num_heads'));
  if (unetHeads) hints.unetHeads = unetHeads;
  const scale = at(config, 'vae.scaling_factor');
  if (typeof scale === 'number' && scale > 0) hints.scalingFactor = scale;
  if (at(config, 'scheduler.prediction_type') === 'v_prediction') hints.vPrediction = true;
  return hints;
}

/** ControlNet heads from a fixture folder's config.json (its diffusers_config, else its LDM yaml). */
export function readFixtureControlnetHints(controlnetPath: string): Pick<ConfigHints, 'unetHeads' | 'unetHeadChannels'> {
  const config = fixtureConfigFor(controlnetPath, 'controlnet_file');
  if (!config) return {};
  const heads = headList(at(config, 'controlnet.diffusers_config.num_attention_heads') ?? at(config, 'controlnet.diffusers_config.attention_head_dim'));
  if (heads) return { unetHeads: heads };
  const yamlName = at(config, 'checkpoint.controlnet_original_config');
  const yamlPath = typeof yamlName === 'string' ? join(dirname(controlnetPath), basename(yamlName)) : '';
  return yamlPath && existsSync(yamlPath) ? readLdmControlnetHints(yamlPath) : {};
}
