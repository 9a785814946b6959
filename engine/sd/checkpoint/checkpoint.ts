// Opens an SD1.5 checkpoint — an LDM single file (.safetensors, or a PyTorch .ckpt/.pt read without
// running its pickle, torch-file.ts) or a diffusers folder — and presents
// each network's weights under diffusers names (key-map.ts), with its architecture config. Refuses
// SDXL, SD2.x and v-prediction models with a message saying what the file is (inpainting UNets, 9 input
// channels, are accepted).
// EMA (choice, as ComfyUI): full training files also hold `model_ema.*` copies; we use the regular
// `model.diffusion_model.*` weights and ignore the EMA ones ("emaonly" files carry EMA weights there).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { openSafetensors, checkpointFingerprint } from '../../onnx/index.ts';
import type { SafetensorsFile, WeightSource } from '../../onnx/index.ts';
import { unetLdmKeys, vaeLdmKeys, clipLdmKeys, vaeLegacyDiffusersKeys, isVaeAttentionProjection, LDM_UNET_PREFIX } from './key-map.ts';
import { inferUnetConfig, inferVaeConfig, inferClipConfig, MissingConfigError } from './config.ts';
import type { Sd15Config, ConfigHints } from './config.ts';
import { readLdmYamlHints, readDiffusersHints, readFixtureCheckpointHints } from './config-files.ts';
import { mappedWeightSource } from './mapped-weights.ts';
import { openTensorFile } from './torch-file.ts';
import type { AppliedLora } from '../lora/lora-types.ts';

export interface Checkpoint {
  path: string;
  layout: 'ldm' | 'diffusers';
  config: Sd15Config;
  /** Weights under diffusers names, per network. */
  unet: WeightSource;
  vae: WeightSource;
  textEncoder: WeightSource;
  /** Identity of the weight files (graph cache key). */
  fingerprint: string;
  /** LoRAs applied (lora.ts): their branches are in unet / textEncoder, their strengths feed the graphs. */
  loras?: LoraStack;
}

/** What the VAE graphs read: a checkpoint, or a VAE file of its own (VAELoader, vae-file.ts). */
export interface VaeModel {
  path: string;
  config: Pick<Sd15Config, 'vae'>;
  vae: WeightSource;
  fingerprint: string;
}

export class CheckpointError extends Error {}

export interface OpenOptions {
  /** Numbers that override config files and inference (e.g. heads of a test model). */
  hints?: ConfigHints;
}

/** The weights of one network in a checkpoint file, under diffusers names. */
function mappedSource(file: SafetensorsFile, network: string, candidates: (name: string) => string[]): WeightSource {
  return mappedWeightSource(file, {
    candidates,
    missing: (expected, name) => {
      const alias = expected === name ? '' : ` (${network} weight '${name}')`;
      return new CheckpointError(`checkpoint ${file.path} has no tensor '${expected}'${alias}: the file is incomplete or not an SD1.5 checkpoint`);
    },
    // LDM VAE attention projections are 1×1 conv weights [C,C,1,1]: the same bytes as Linear [C,C].
    adjust: (name, ref) => (isVaeAttentionProjection(name) && ref.shape.length === 4 ? { ...ref, shape: ref.shape.slice(0, 2) } : ref),
  });
}

function has(keys: string[], prefix: string): boolean {
  return keys.some((k) => k.startsWith(prefix));
}

function refuseUnknownSingleFile(path: string, keys: string[]): void {
  const what = (s: string) => new CheckpointError(`${path} ${s}; invgraph runs Stable Diffusion 1.5 checkpoints only`);
  if (has(keys, 'conditioner.embedders.') || has(keys, 'model.diffusion_model.label_emb.')) {
    throw what('is an SDXL checkpoint (it has conditioner.embedders.* / label_emb tensors)');
  }
  if (has(keys, 'cond_stage_model.model.')) throw what('is a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder cond_stage_model.model.*)');
  if (!has(keys, LDM_UNET_PREFIX)) {
    if (has(keys, 'control_model.') || has(keys, 'zero_convs.')) throw what('is a ControlNet, not a checkpoint; put it in models/controlnet');
    if (keys.some((k) => k.includes('lora_'))) throw what('is a LoRA, not a checkpoint');
    throw what(`has no UNet tensors (${LDM_UNET_PREFIX}*); it holds e.g. ${keys.slice(0, 3).join(', ') || 'no tensors'}`);
  }
}

function refuseArchitecture(path: string, config: Sd15Config, hints: ConfigHints & { vPrediction?: boolean }): void {
  const what = (s: string) => new CheckpointError(`${path} ${s}; invgraph runs Stable Diffusion 1.5 checkpoints only`);
  const { unet } = config;
  if (unet.crossAttentionDim === 2048) throw what('is an SDXL model (text context width 2048)');
  if (unet.crossAttentionDim === 1024 || unet.useLinearProjection) throw what('is a Stable Diffusion 2.x model (text context width 1024 / linear proj_in)');
  if (unet.outChannels !== 4) throw what(`has a UNet with ${unet.outChannels} output channels (SD1.5 has 4)`);
  // 9 = an inpainting UNet: latent + mask + masked-image latent (unet.ts `concat`, sd/inpaint-concat.ts).
  if (unet.inChannels !== 4 && unet.inChannels !== 9) {
    throw what(`has a UNet with ${unet.inChannels} input channels (SD1.5 has 4, its inpainting models 9)`);
  }
  if (hints.vPrediction) throw what('is a v-prediction model (its config says parameterization v / prediction_type v_prediction)');
  if (config.clip.hiddenSize !== unet.crossAttentionDim) {
    throw what(`pairs a ${config.clip.hiddenSize}-wide text encoder with a UNet expecting ${unet.crossAttentionDim}-wide context`);
  }
}

/** Where a user puts the numbers the weights cannot tell, for this kind of checkpoint. */
function configAdvice(path: string, layout: Checkpoint['layout']): string {
  if (layout === 'diffusers') return `add num_attention_heads to ${join(path, 'text_encoder', 'config.json')}`;
  const yaml = join(dirname(path), `${basename(path, extname(path))}.yaml`);
  return `put the model's LDM config beside it as ${yaml} with model.params.cond_stage_config.params.num_heads: <heads> (and unet_config num_heads)`;
}

function buildConfig(path: string, layout: Checkpoint['layout'], sources: Pick<Checkpoint, 'unet' | 'vae' | 'textEncoder'>, hints: ConfigHints): Sd15Config {
  try {
    return { unet: inferUnetConfig(sources.unet, hints), vae: inferVaeConfig(sources.vae, hints), clip: inferClipConfig(sources.textEncoder, hints) };
  } catch (err) {
    if (err instanceof MissingConfigError) throw new CheckpointError(`${path}: ${err.message}; ${configAdvice(path, layout)}`);
    throw err;
  }
}

function openSingleFile(path: string, options: OpenOptions): Checkpoint {
  const file = openTensorFile(path, CheckpointError);
  const keys = [...file.tensors.keys()];
  refuseUnknownSingleFile(path, keys);
  // Precedence: the caller's numbers, then the LDM yaml, then a fixture folder's config.json.
  const hints = { ...readFixtureCheckpointHints(path), ...readLdmYamlHints(path), ...options.hints };
  const vaeLevels = new Set(keys.map((k) => k.match(/^first_stage_model\.decoder\.up\.(\d+)\./)?.[1]).filter((x) => x !== undefined)).size;
  const sources = {
    unet: mappedSource(file, 'UNet', unetLdmKeys),
    vae: mappedSource(file, 'VAE', (n) => vaeLdmKeys(n, vaeLevels)),
    textEncoder: mappedSource(file, 'CLIP text encoder', clipLdmKeys),
  };
  const config = buildConfig(path, 'ldm', sources, hints);
  refuseArchitecture(path, config, hints);
  return { path, layout: 'ldm', config, ...sources, fingerprint: checkpointFingerprint(file) };
}

function pickFile(folder: string, names: string[]): string {
  const found = names.map((n) => join(folder, n)).find((p) => existsSync(p));
  if (found) return found;
  const sharded = existsSync(join(folder, `${names[0]}.index.json`));
  throw new CheckpointError(sharded
    ? `${folder} holds a sharded model (${names[0]}.index.json); invgraph needs one ${names[0]} file`
    : `${folder} has no ${names.join(' or ')}; a diffusers model folder needs it`);
}

function openDiffusersFolder(path: string, options: OpenOptions): Checkpoint {
  const files = {
    unet: openSafetensors(pickFile(join(path, 'unet'), ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors'])),
    vae: openSafetensors(pickFile(join(path, 'vae'), ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.fp16.safetensors'])),
    textEncoder: openSafetensors(pickFile(join(path, 'text_encoder'), ['model.safetensors', 'model.fp16.safetensors'])),
  };
  const hints = { ...readDiffusersHints(path), ...options.hints };
  const sources = {
    unet: mappedSource(files.unet, 'UNet', (n) => [n]),
    vae: mappedSource(files.vae, 'VAE', vaeLegacyDiffusersKeys),
    textEncoder: mappedSource(files.textEncoder, 'CLIP text encoder', (n) => [n]),
  };
  const config = buildConfig(path, 'diffusers', sources, hints);
  refuseArchitecture(path, config, hints);
  const fingerprint = [files.unet, files.vae, files.textEncoder].map(checkpointFingerprint).join('+');
  return { path, layout: 'diffusers', config, ...sources, fingerprint };
}

/** Opens a checkpoint file (LDM layout) or diffusers folder; errors name the path and the problem. */
export function openCheckpoint(path: string, options: OpenOptions = {}): Checkpoint {
  if (!existsSync(path)) throw new CheckpointError(`checkpoint ${path} does not exist (folder ${dirname(path)}, file ${basename(path)})`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'unet')) && !existsSync(join(path, 'model_index.json'))) {
      throw new CheckpointError(`${path} is a folder but not a diffusers model (no model_index.json or unet/)`);
    }
    return openDiffusersFolder(path, options);
  }
  return openSingleFile(path, options);
}

/** The base checkpoint and the LoRAs applied (lora/lora.ts) to one of its networks. */
export interface LoraStack {
  base: Checkpoint;
  unet: AppliedLora[];
  textEncoder: AppliedLora[];
}
