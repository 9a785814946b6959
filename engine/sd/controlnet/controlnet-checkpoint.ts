// Opens an SD1.5 ControlNet — a single .safetensors file (LDM `control_model.*` or bare names, or diffusers
// names) or a diffusers ControlNetModel folder — and presents its weights under diffusers ControlNetModel
// names (sd15-reference.md §6.4), with its architecture inferred from shapes. Refuses what it cannot run.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { openSafetensors, checkpointFingerprint, add } from '../../onnx/index.ts';
import type { SafetensorsFile, WeightSource } from '../../onnx/index.ts';
import { unetLdmKeys, LDM_UNET_PREFIX } from '../checkpoint/key-map.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { readLdmControlnetHints, readFixtureControlnetHints } from '../checkpoint/config-files.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';
import { mappedWeightSource } from '../checkpoint/mapped-weights.ts';

export interface ControlnetConfig {
  /**
   * The encoder half (time embedding, conv_in, down blocks, mid block) in the UNet's terms; it has no up path.
   * `heads` is absent when no config file gives it: a ControlNet is a copy of the encoder of the UNet it
   * controls, so it then takes that UNet's heads (resolveControlnetConfig).
   */
  encoder: Omit<UnetConfig, 'outChannels' | 'heads'> & { heads?: number[] };
  /** Channels of the hint image (3, RGB). */
  hintChannels: number;
  /** Output widths of controlnet_cond_embedding.conv_in and blocks.0…n−1 (SD1.5: 16,16,32,32,96,96,256). */
  hintBlockChannels: number[];
}

/** A ControlNet config whose head counts are known. */
export type ResolvedControlnetConfig = ControlnetConfig & { encoder: Omit<UnetConfig, 'outChannels'> };

/** The config with its heads: its own (from a config file) or, else, those of the UNet it controls. */
export function resolveControlnetConfig(net: Controlnet, unetHeads: readonly number[]): ResolvedControlnetConfig {
  const heads = net.config.encoder.heads ?? [...unetHeads];
  return { ...net.config, encoder: { ...net.config.encoder, heads } };
}

export interface Controlnet {
  path: string;
  layout: 'ldm' | 'diffusers';
  /** A "difference" ControlNet (DiffControlNetLoader): its weights are deltas, added to this model's UNet. */
  diffBase?: string;
  config: ControlnetConfig;
  /** Weights under diffusers ControlNetModel names. */
  weights: WeightSource;
  /** Identity of the weight file (graph cache key). */
  fingerprint: string;
}

export class ControlnetError extends Error {}

const SD15 = 'invgraph runs Stable Diffusion 1.5 ControlNets';

// ---------- LDM → diffusers names ----------

/**
 * ControlNet names (diffusers ControlNetModel) → LDM names below `prefix` (`control_model.` or ''). The encoder
 * half maps like the UNet (key-map.ts); the hint encoder, zero convs and middle_block_out are ControlNet's own.
 * `hintConvs` = number of input_hint_block convolutions (SD1.5: 8, at indices 0, 2, …, 14).
 */
export function controlnetLdmKeys(name: string, prefix: string, hintConvs: number): string[] {
  const own: Array<[RegExp, (m: RegExpMatchArray) => string | null]> = [
    [/^controlnet_cond_embedding\.conv_in\.(.+)$/, (m) => `input_hint_block.0.${m[1]}`],
    // blocks.j sit between conv_in (index 0) and conv_out (the last index): j < hintConvs − 2.
    [/^controlnet_cond_embedding\.blocks\.(\d+)\.(.+)$/, (m) => (+m[1] < hintConvs - 2 ? `input_hint_block.${2 * (+m[1] + 1)}.${m[2]}` : null)],
    [/^controlnet_cond_embedding\.conv_out\.(.+)$/, (m) => `input_hint_block.${2 * (hintConvs - 1)}.${m[1]}`],
    [/^controlnet_down_blocks\.(\d+)\.(.+)$/, (m) => `zero_convs.${m[1]}.0.${m[2]}`],
    [/^controlnet_mid_block\.(.+)$/, (m) => `middle_block_out.0.${m[1]}`],
  ];
  for (const [re, fn] of own) {
    const m = name.match(re);
    if (!m) continue;
    const key = fn(m);
    return key === null ? [] : [prefix + key];
  }
  return unetLdmKeys(name).map((k) => prefix + k.slice(LDM_UNET_PREFIX.length));
}

function mappedSource(file: SafetensorsFile, candidates: (name: string) => string[]): WeightSource {
  return mappedWeightSource(file, {
    candidates,
    missing: (expected, name) => {
      const alias = expected === name ? '' : ` (ControlNet weight '${name}')`;
      return new ControlnetError(`ControlNet ${file.path} has no tensor '${expected}'${alias}: the file is incomplete or not an SD1.5 ControlNet`);
    },
  });
}

// ---------- what a file is ----------

/** Throws, saying what the file is, unless its keys look like an SD1.5-style ControlNet. Returns the layout. */
function classifyKeys(path: string, keys: string[]): { layout: 'ldm' | 'diffusers'; prefix: string } {
  const what = (s: string) => new ControlnetError(`${path} ${s}; ${SD15}`);
  const has = (prefix: string) => keys.some((k) => k.startsWith(prefix));
  if (keys.includes('lora_controlnet')) throw what('is a Control-LoRA (key lora_controlnet), which needs its base model; it is not supported');
  const prefix = has('control_model.') ? 'control_model.' : '';
  if (has(`${prefix}zero_convs.`) || has(`${prefix}input_hint_block.`)) {
    if (has(`${prefix}label_emb.`)) throw what('is an SDXL ControlNet (it has label_emb tensors)');
    return { layout: 'ldm', prefix };
  }
  if (has('controlnet_cond_embedding.')) {
    if (has('add_embedding.')) throw what('is an SDXL ControlNet (it has add_embedding tensors)');
    return { layout: 'diffusers', prefix: '' };
  }
  if (has('adapter.') || has('body.0.') || keys.includes('conv_in.weight')) throw what('is a T2I-Adapter, not a ControlNet; T2I-Adapters are not supported');
  if (has('controlnet_blocks.') || has('controlnet_x_embedder.') || has('pos_embed_input.')) {
    throw what('is a ControlNet for a transformer model (SD3 / Flux), not for SD1.5');
  }
  if (has(LDM_UNET_PREFIX)) throw what('is a Stable Diffusion checkpoint, not a ControlNet; put it in models/checkpoints');
  if (keys.some((k) => k.includes('lora_'))) throw what('is a LoRA, not a ControlNet');
  throw what(`has no ControlNet tensors (zero_convs / controlnet_cond_embedding); it holds e.g. ${keys.slice(0, 3).join(', ') || 'no tensors'}`);
}

// ---------- architecture from shapes ----------

function countWhile(test: (i: number) => boolean): number {
  let n = 0;
  while (test(n)) n++;
  return n;
}

/** Numbers that shapes cannot tell, from a config beside the file. */
interface ControlnetHints {
  heads?: number | number[];
  headChannels?: number;
  globalPool?: boolean;
}

/** Heads per level from a config file, or undefined (then the controlled UNet's heads are used). */
function headsFor(widths: number[], hints: ControlnetHints): number[] | undefined {
  if (Array.isArray(hints.heads)) return [...hints.heads];
  if (typeof hints.heads === 'number' && hints.heads > 0) return widths.map(() => hints.heads as number);
  if (hints.headChannels && hints.headChannels > 0) return widths.map((w) => w / (hints.headChannels as number));
  return undefined;
}

function inferConfig(path: string, w: WeightSource, hints: ControlnetHints): ControlnetConfig {
  const shape = (name: string) => w.weight(name).shape;
  const levels = countWhile((i) => w.has(`down_blocks.${i}.resnets.0.conv1.weight`));
  const blockOutChannels = Array.from({ length: levels }, (_, i) => shape(`down_blocks.${i}.resnets.0.conv1.weight`)[0]);
  const attentionLevels = blockOutChannels.map((_, i) => w.has(`down_blocks.${i}.attentions.0.proj_in.weight`));
  const first = attentionLevels.indexOf(true);
  const block = `down_blocks.${first}.attentions.0`;
  const blocks = countWhile((j) => w.has(`controlnet_cond_embedding.blocks.${j}.weight`));
  const encoder = {
    inChannels: shape('conv_in.weight')[1],
    blockOutChannels,
    layersPerBlock: countWhile((j) => w.has(`down_blocks.0.resnets.${j}.conv1.weight`)),
    attentionLevels,
    heads: headsFor(blockOutChannels, hints),
    transformerDepth: first < 0 ? 0 : countWhile((k) => w.has(`${block}.transformer_blocks.${k}.norm1.weight`)),
    crossAttentionDim: first < 0 ? 0 : shape(`${block}.transformer_blocks.0.attn2.to_k.weight`)[1],
    timeEmbedDim: shape('time_embedding.linear_1.weight')[0],
    normGroups: 32,
    useLinearProjection: first >= 0 && shape(`${block}.proj_in.weight`).length === 2,
  };
  const what = (s: string) => new ControlnetError(`${path} ${s}; ${SD15}`);
  if (encoder.crossAttentionDim === 2048) throw what('is an SDXL ControlNet (text context width 2048)');
  if (encoder.crossAttentionDim === 1024 || encoder.useLinearProjection) throw what('is a Stable Diffusion 2.x ControlNet (text context width 1024 / linear proj_in)');
  if (hints.globalPool) throw what('is a "shuffle" ControlNet (global average pooling of its residuals), which is not supported yet');
  return {
    encoder,
    hintChannels: shape('controlnet_cond_embedding.conv_in.weight')[1],
    hintBlockChannels: [
      shape('controlnet_cond_embedding.conv_in.weight')[0],
      ...Array.from({ length: blocks }, (_, j) => shape(`controlnet_cond_embedding.blocks.${j}.weight`)[0]),
    ],
  };
}

/** Hints from `<name>.yaml` beside the file (cldm_v15.yaml form: control_stage_config), else a fixture folder's config.json. */
function fileHints(path: string): ControlnetHints {
  const name = basename(path, extname(path));
  // ComfyUI turns on global average pooling for files named *_shuffle / *_shuffle_fp16.
  const hints: ControlnetHints = { globalPool: /_shuffle(_fp16)?$/.test(name) };
  const yaml = join(path, '..', `${name}.yaml`);
  const heads = existsSync(yaml)
    ? readLdmControlnetHints(yaml)
    : readFixtureControlnetHints(path);
  return { ...hints, heads: heads.unetHeads, headChannels: heads.unetHeadChannels };
}

// ---------- "difference" ControlNets ----------

/** The UNet a difference ControlNet's deltas are added to (DiffControlNetLoader's model). */
export interface DiffBase {
  /** The model's UNet weights under diffusers names. */
  unet: WeightSource;
  /** Identity of those weights (graph cache key). */
  fingerprint: string;
  /** Shown in messages. */
  path: string;
}

/**
 * ComfyUI load_controlnet with a model: every ControlNet weight whose name the UNet also has (the encoder copy:
 * conv_in, time embedding, down and mid blocks) is delta + the UNet's weight; the ControlNet's own layers (hint
 * encoder, zero convs) are taken as they are. The sum is a constant expression folded when the session loads.
 */
function diffWeights(deltas: WeightSource, base: WeightSource): WeightSource {
  const sameShape = (name: string) => {
    const [a, b] = [deltas.weight(name).shape, base.weight(name).shape];
    return a.length === b.length && a.every((d, i) => d === b[i]);
  };
  return {
    has: (name) => deltas.has(name),
    weight: (name) => deltas.weight(name),
    combine: (name, load) => (deltas.has(name) && base.has(name) && sameShape(name) ? add(load(deltas, name, 'diff'), load(base, name, 'base')) : undefined),
  };
}

// ---------- opening ----------

export interface OpenControlnetOptions {
  /** DiffControlNetLoader's model: a difference ControlNet's deltas are added to its UNet. Other ControlNets
   *  ignore it (as ComfyUI). */
  diffBase?: DiffBase;
}

function openSingleFile(path: string, options: OpenControlnetOptions): Controlnet {
  const file = openTensorFile(path, ControlnetError);
  const keys = [...file.tensors.keys()];
  const { layout, prefix } = classifyKeys(path, keys);
  const hintConvs = new Set(keys.map((k) => k.startsWith(`${prefix}input_hint_block.`) ? k.split('.')[prefix ? 2 : 1] : undefined).filter((x) => x !== undefined)).size;
  const weights = layout === 'ldm' ? mappedSource(file, (n) => controlnetLdmKeys(n, prefix, hintConvs)) : mappedSource(file, (n) => [n]);
  const fingerprint = checkpointFingerprint(file);
  if (keys.includes('difference')) {
    const base = options.diffBase;
    if (!base) throw new ControlnetError(`${path} is a "difference" ControlNet (key difference: its weights are deltas to a base UNet); load it with DiffControlNetLoader ("Load ControlNet Model (diff)"), which adds them to a model's UNet`);
    const summed = diffWeights(weights, base.unet);
    return { path, layout, diffBase: base.path, config: inferConfig(path, summed, fileHints(path)), weights: summed, fingerprint: `diff(${fingerprint}+${base.fingerprint})` };
  }
  return { path, layout, config: inferConfig(path, weights, fileHints(path)), weights, fingerprint };
}

function readConfigJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ControlnetError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function openDiffusersFolder(path: string): Controlnet {
  const json = readConfigJson(join(path, 'config.json'));
  const what = (s: string) => new ControlnetError(`${path} ${s}; ${SD15}`);
  const className = String(json._class_name ?? '');
  if (className.startsWith('T2IAdapter') || className === 'MultiAdapter') throw what(`is a T2I-Adapter (${className}), not a ControlNet; T2I-Adapters are not supported`);
  if (className !== 'ControlNetModel') throw what(`holds a ${className || 'model without _class_name'}, not a ControlNetModel`);
  if (json.addition_embed_type === 'text_time') throw what('is an SDXL ControlNet (addition_embed_type text_time)');
  const weightsFile = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors'].map((n) => join(path, n)).find(existsSync);
  if (!weightsFile) throw what('has no diffusion_pytorch_model.safetensors (or .fp16.safetensors)');
  const file = openSafetensors(weightsFile);
  classifyKeys(weightsFile, [...file.tensors.keys()]);
  const weights = mappedSource(file, (n) => [n]);
  const heads = json.num_attention_heads ?? json.attention_head_dim;
  const hints: ControlnetHints = { globalPool: json.global_pool_conditions === true };
  if (typeof heads === 'number' || (Array.isArray(heads) && heads.every((h) => typeof h === 'number'))) hints.heads = heads as number | number[];
  return { path, layout: 'diffusers', config: inferConfig(path, weights, hints), weights, fingerprint: checkpointFingerprint(file) };
}

/** Opens a ControlNet file or diffusers folder; errors name the path and say what it is instead. */
export function openControlnet(path: string, options: OpenControlnetOptions = {}): Controlnet {
  if (!existsSync(path)) throw new ControlnetError(`ControlNet ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'config.json'))) throw new ControlnetError(`${path} is a folder but not a diffusers ControlNet (no config.json)`);
    return openDiffusersFolder(path);
  }
  return openSingleFile(path, options);
}
