// Inv-Adapter nodes (inv-adapter.md §1, §4, §5): DDIMInvert, ExtractDiffusionFeatures, Save/LoadDiffusionFeatures,
// InvAdapterLoader and EAAInject. The work lives in engine/sd (inv-adapter*.ts, feature-bank.ts, eaa-patch.ts);
// EAAInject adds a model patch (engine/sd model-patch.ts) that KSampler applies like any other.
import { statSync } from 'node:fs';
import { copyFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv, Folders, NodeContext } from '../engine/graph/index.ts';
import { resolveInside, nextCounterFilename, parseAnnotatedName } from '../engine/files/index.ts';
import {
  invertImage, extractFeatures, openFeatureBank, loadInvAdapter, REFERENCE_ATTENTION, injectEaa, parseBlockWeights, transformerBlocks,
} from '../engine/sd/index.ts';
import type { StepProgress } from '../engine/sampling/index.ts';
import { sdRuntime } from './sd-services.ts';
import { listModelFiles, listModels, resolveModel } from './model-files.ts';

const CATEGORY = 'inv-adapter';
export const TRAINING_FREE = 'training-free';

/** Progress and interrupt hooks of a sampling loop inside a node. */
function loopHooks(ctx: NodeContext): { onStep: (s: StepProgress) => void; throwIfAborted: () => void; log: (m: string) => void } {
  return {
    onStep: (s) => ctx.progress(s.index + 1, s.total),
    throwIfAborted: () => ctx.throwIfInterrupted(),
    log: (m) => ctx.log(m),
  };
}

/** *.safetensors files directly in `folder` (and one level of subfolders), sorted; none when it is missing. */
function listSafetensors(folder: string): string[] {
  return listModelFiles(folder, { file: /\.safetensors$/ });
}

export const invAdapterFolder = (folders: Folders): string => join(folders.models, 'inv_adapter');
const modelBanksFolder = (folders: Folders): string => join(folders.models, 'inv_features');
const outputBanksFolder = (folders: Folders): string => join(folders.output, 'inv_features');

/** Bank files: models/inv_features plain, output/inv_features annotated " [output]" (ComfyUI style). */
export function listFeatureBanks(env: DefinitionEnv): string[] {
  return [
    ...listSafetensors(modelBanksFolder(env.folders)),
    ...listSafetensors(outputBanksFolder(env.folders)).map((n) => `${n} [output]`),
  ];
}

function bankPath(name: string, folders: Folders): string {
  const { name: file, folder } = parseAnnotatedName(name);
  if (folder === 'output') return resolveInside(outputBanksFolder(folders), file);
  if (folder !== undefined) throw new Error(`feature banks are read from models/inv_features or output/inv_features, not the ${folder} folder ("${name}")`);
  return resolveInside(modelBanksFolder(folders), file);
}

export const DDIMInvert = defineNode({
  name: 'DDIMInvert',
  displayName: 'DDIM Invert',
  category: CATEGORY,
  description: 'Encodes a face image with the VAE (posterior mean × 0.18215) and inverts it with DDIM (guidance 1) conditioned on its caption: the latent trajectory P_0 … P_T for ExtractDiffusionFeatures.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL', tooltip: 'The base model (the one you will sample with).' },
      vae: { kind: 'LINK', type: 'VAE' },
      image: { kind: 'LINK', type: 'IMAGE', tooltip: 'One face crop (FaceCrop), at the size the adapter expects (512 for SD1.5).' },
      caption: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The caption of the face image, e.g. "a close-up photo of a person\'s face".' },
      steps: { kind: 'INT', default: 50, min: 1, max: 999, tooltip: 'DDIM steps; sample with ddim_diffusers and the same steps for exactly aligned features.' },
    },
  },
  outputs: [{ type: 'INVERSION', tooltip: 'The inverted latents, timesteps and model identity.' }],
  async run({ model, vae, image, caption, steps }, ctx) {
    const inversion = await invertImage(sdRuntime(ctx), { model, vae, image, caption, steps, ...loopHooks(ctx) });
    return { outputs: [inversion] };
  },
});

export const ExtractDiffusionFeatures = defineNode({
  name: 'ExtractDiffusionFeatures',
  displayName: 'Extract Diffusion Features',
  category: CATEGORY,
  description: 'Denoises the inversion\'s P_T with DDIM and the caption (guidance 1), recording every transformer block\'s self- and cross-attention inputs at every step into a feature bank file (temp/inv_features; float16, one step in memory at a time). A 512×512 face with 50 steps makes a 2.31 GB bank (46.2 MB per step).',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      inversion: { kind: 'LINK', type: 'INVERSION' },
      caption: { kind: 'LINK', type: 'CONDITIONING', tooltip: 'The same caption as for DDIMInvert.' },
    },
  },
  outputs: [{ type: 'DIFFUSION_FEATURES', tooltip: 'The feature bank (a file; save it with SaveDiffusionFeatures to reuse it).' }],
  async run({ model, inversion, caption }, ctx) {
    const folder = join(ctx.folders.temp, 'inv_features');
    const bank = await extractFeatures(sdRuntime(ctx), { model, inversion, caption, folder, ...loopHooks(ctx) });
    return { outputs: [bank] };
  },
});

export const SaveDiffusionFeatures = defineNode({
  name: 'SaveDiffusionFeatures',
  displayName: 'Save Diffusion Features',
  category: CATEGORY,
  description: 'Saves a feature bank into output/inv_features, so LoadDiffusionFeatures can serve the face to many prompts without inverting again.',
  inputs: {
    required: {
      features: { kind: 'LINK', type: 'DIFFUSION_FEATURES' },
      filename_prefix: { kind: 'STRING', default: 'face', tooltip: 'Start of the file name inside output/inv_features (may contain subfolders).' },
    },
  },
  outputs: [],
  outputNode: true,
  async run({ features, filename_prefix }, ctx) {
    const name = await nextCounterFilename(outputBanksFolder(ctx.folders), filename_prefix, 'safetensors');
    // Banks are immutable (named by content), so a hard link is as good as a copy; fall back across devices.
    await link(features.path, name.path).catch(() => copyFile(features.path, name.path));
    const subfolder = name.subfolder ? `inv_features/${name.subfolder}` : 'inv_features';
    return { outputs: [], ui: { inv_features: [{ filename: name.filename, subfolder, type: 'output' }] } };
  },
});

export const LoadDiffusionFeatures = defineNode({
  name: 'LoadDiffusionFeatures',
  displayName: 'Load Diffusion Features',
  category: CATEGORY,
  description: 'Loads a feature bank saved by SaveDiffusionFeatures (output/inv_features) or put in models/inv_features.',
  inputs: {
    required: {
      features_name: { kind: 'COMBO', options: listFeatureBanks, tooltip: 'Bank files in models/inv_features and output/inv_features.' },
    },
  },
  outputs: [{ type: 'DIFFUSION_FEATURES' }],
  fingerprint(inputs, env) {
    // Re-run when the file is replaced; an unusable name is reported by run, not here.
    try {
      const info = statSync(bankPath(String(inputs.features_name), env.folders), { throwIfNoEntry: false });
      return info ? `${info.size}:${info.mtimeMs}` : 'missing';
    } catch (err) {
      return `unusable: ${(err as Error).message}`;
    }
  },
  run({ features_name }, ctx) {
    return { outputs: [openFeatureBank(bankPath(features_name, ctx.folders))] };
  },
});

export const InvAdapterLoader = defineNode({
  name: 'InvAdapterLoader',
  displayName: 'Load Inv-Adapter',
  category: CATEGORY,
  description: 'Loads trained Inv-Adapter weights from models/inv_adapter (inv-adapter.md §5), checked against the model: with a file, EAAInject runs the paper\'s method (additive adapter attention on the self and cross side). "training-free" loads nothing: EAAInject then runs reference attention (the generation\'s self-attention also attends to the face\'s recorded tokens, one softmax, weight = bias ln σ) — a training-free technique, NOT the paper\'s trained model; its cross side is off. No trained adapter is public.',
  inputs: {
    required: {
      adapter_name: { kind: 'COMBO', options: (env: DefinitionEnv) => [TRAINING_FREE, ...listModels(env.folders, 'inv_adapter', { file: /\.safetensors$/ })], tooltip: 'A trained adapter file in models/inv_adapter (the paper\'s method), or training-free (reference attention, not the paper\'s method).' },
      model: { kind: 'LINK', type: 'MODEL' },
      // Kept so that workflows saved with them still load (widget positions); reference attention needs neither.
      tokens: { kind: 'INT', default: 256, min: 1, max: 65536, tooltip: 'Not used (kept for saved workflows): a trained file carries its own s_c, reference attention needs none.' },
      reference_size: { kind: 'INT', default: 512, min: 8, max: 8192, step: 8, tooltip: 'Not used (kept for saved workflows): reference attention takes a face crop of any size; a trained file fixes its own.' },
    },
  },
  outputs: [{ type: 'INV_ADAPTER' }],
  run({ adapter_name, model }, ctx) {
    if (adapter_name === TRAINING_FREE) {
      ctx.log('Inv-Adapter: no adapter file — training-free reference attention (not the paper\'s trained method; cross side off)');
      return { outputs: [REFERENCE_ATTENTION] };
    }
    const path = resolveModel(ctx.folders, 'inv_adapter', adapter_name);
    ctx.log(`Inv-Adapter: trained adapter ${adapter_name} (the paper's additive adapter attention, self and cross side)`);
    return { outputs: [loadInvAdapter(path, model.checkpoint, adapter_name)] };
  },
});

export const EAAInject = defineNode({
  name: 'EAAInject',
  displayName: 'Inject Embedded Attention Adapter',
  category: CATEGORY,
  description: 'Patches the model so that every transformer block also attends to the face\'s recorded features at the nearest recorded timestep. With a trained adapter file: the paper\'s adapter attention added on the self side and, over pooled tokens, on the cross side. With "training-free": reference attention — one softmax over the generation\'s and the face\'s self-attention keys, the face\'s weighted by σ (weight 1 = plain joint attention) — not the paper\'s trained model, and cross_attention has no effect. Weight 0, or steps outside start_at…end_at, give exactly the base model.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      inv_adapter: { kind: 'LINK', type: 'INV_ADAPTER' },
      features: { kind: 'LINK', type: 'DIFFUSION_FEATURES' },
      weight: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 2.0, step: 0.05, tooltip: 'σ: with a trained file, the factor on the adapter attention (paper: 0.6–1 at inference); training-free, the weight of the face\'s keys in the joint softmax (logit bias ln σ).' },
      start_at: { kind: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001, tooltip: 'Fraction of the schedule where the adapter starts acting.' },
      end_at: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001, tooltip: 'Fraction of the schedule where it stops.' },
      self_attention: { kind: 'BOOLEAN', default: true },
      cross_attention: { kind: 'BOOLEAN', default: true, tooltip: 'Trained adapter file only: the adapter\'s cross side. No effect training-free (reference attention has no cross side).' },
      apply_to_uncond: { kind: 'BOOLEAN', default: true, tooltip: 'Also act on the unconditional CFG rows, so guidance does not amplify the identity signal.' },
    },
    optional: {
      attention_mask: { kind: 'LINK', type: 'MASK', tooltip: 'Where the identity acts: 1 = fully, 0 = not at all (resized to every block\'s token grid; first mask of a batch).' },
      block_weights: {
        kind: 'STRING', default: '', maxLength: 1000,
        tooltip: 'Per-block strength, multiplying the weight: empty = 1 everywhere; "input=0.5, middle=1, output=1" by group; or one number per transformer block (16 for SD1.5, canonical order).',
      },
      allow_timestep_mismatch: {
        kind: 'BOOLEAN', default: false,
        tooltip: 'The features were recorded for one DDIM schedule; sampling timesteps farther than one sampler step from every recorded one are refused unless this is on (then the nearest recorded step is used).',
      },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run(inputs) {
    const blocks = transformerBlocks(inputs.model.checkpoint.config.unet).map((b) => b.name);
    const patched = injectEaa(inputs.model, inputs.inv_adapter, inputs.features, {
      weight: inputs.weight,
      startAt: inputs.start_at,
      endAt: inputs.end_at,
      selfAttention: inputs.self_attention,
      crossAttention: inputs.cross_attention,
      applyToUncond: inputs.apply_to_uncond,
      blockWeights: parseBlockWeights(inputs.block_weights ?? '', blocks),
      mask: inputs.attention_mask,
      allowTimestepMismatch: inputs.allow_timestep_mismatch ?? false,
    });
    return { outputs: [patched] };
  },
});

export const invAdapterNodes = [DDIMInvert, ExtractDiffusionFeatures, SaveDiffusionFeatures, LoadDiffusionFeatures, InvAdapterLoader, EAAInject];
