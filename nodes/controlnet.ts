// ControlNet nodes (comfyui-api.md §7.1): ControlNetLoader, ControlNetApply (deprecated) and ControlNetApplyAdvanced,
// which attach a control link to CONDITIONING entries (engine/sd wire-types.ts; run at sampling time), plus the
// weight-free hint preprocessors Canny and ImageToDepthStyle (category image/preprocessors).
import { basename, join } from 'node:path';
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv, Folders } from '../engine/graph/index.ts';
import { resolveInside } from '../engine/files/index.ts';
import { openControlnet, ControlnetError, WEIGHT_FILE } from '../engine/sd/index.ts';
import type { Conditioning, ControlLink, SdControlNet } from '../engine/sd/index.ts';
import { cannyEdges, depthStyle } from '../engine/image/index.ts';
import type { ImageBatch } from '../engine/image/index.ts';
import { listModels, resolveModel } from './model-files.ts';

export function controlnetFolder(folders: Folders): string {
  return join(folders.models, 'controlnet');
}


/** ControlNet files and diffusers folders (config.json) in models/controlnet, one level of subfolders. */
export function listControlnets(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'controlnet', { file: WEIGHT_FILE, folderMarker: 'config.json' });
}

export const ControlNetLoader = defineNode({
  name: 'ControlNetLoader',
  displayName: 'Load ControlNet Model',
  category: 'loaders',
  description: 'Loads an SD1.5 ControlNet (.safetensors / .pth / .ckpt in LDM or diffusers layout, or a diffusers folder) from models/controlnet.',
  inputs: {
    required: {
      control_net_name: { kind: 'COMBO', options: listControlnets, tooltip: 'The ControlNet in models/controlnet.' },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
  run({ control_net_name }, ctx) {
    const controlnet = openControlnet(resolveModel(ctx.folders, 'controlnet', control_net_name));
    ctx.log(`${control_net_name}: ${controlnet.layout} layout, widths ${controlnet.config.encoder.blockOutChannels.join('/')}`);
    const value: SdControlNet = { controlnet };
    return { outputs: [value] };
  },
});

export const DiffControlNetLoader = defineNode({
  name: 'DiffControlNetLoader',
  displayName: 'Load ControlNet Model (diff)',
  category: 'loaders',
  description: 'Loads a "difference" ControlNet (weights stored as deltas to SD1.5, key `difference`) from models/controlnet and adds the model\'s UNet weights to it, as ComfyUI does. Other ControlNets load as with ControlNetLoader.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL', tooltip: 'The model whose UNet weights the deltas are added to (normally the one you sample with).' },
      control_net_name: { kind: 'COMBO', options: listControlnets, tooltip: 'The ControlNet in models/controlnet.' },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
  run({ model, control_net_name }, ctx) {
    const { checkpoint } = model;
    // ComfyUI adds the LoRA-patched weights; here LoRAs are graph branches the deltas cannot see, so refuse
    // rather than silently add the unpatched ones.
    if (checkpoint.loras && checkpoint.loras.unet.length > 0) {
      throw new ControlnetError('DiffControlNetLoader: the model has LoRAs applied; connect the model from before the LoRA loaders (the difference is defined against the base model)');
    }
    const controlnet = openControlnet(resolveModel(ctx.folders, 'controlnet', control_net_name), {
      diffBase: { unet: checkpoint.unet, fingerprint: checkpoint.fingerprint, path: checkpoint.path },
    });
    const how = controlnet.diffBase ? `difference ControlNet added to ${basename(checkpoint.path)}` : 'not a difference ControlNet, loaded as it is';
    ctx.log(`${control_net_name}: ${how}, ${controlnet.layout} layout, widths ${controlnet.config.encoder.blockOutChannels.join('/')}`);
    const value: SdControlNet = { controlnet };
    return { outputs: [value] };
  },
});

const hintInputs = {
  control_net: { kind: 'LINK', type: 'CONTROL_NET' },
  image: { kind: 'LINK', type: 'IMAGE', tooltip: 'The hint (e.g. an edge map), resized to the latent\'s pixel size when sampling.' },
  strength: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
} as const;

export const ControlNetApply = defineNode({
  name: 'ControlNetApply',
  displayName: 'Apply ControlNet (OLD)',
  category: 'conditioning/controlnet',
  description: 'Attaches a ControlNet and its hint to a conditioning. As in ComfyUI, a negative conditioning without a ControlNet of its own also gets this one when sampling.',
  deprecated: true,
  inputs: {
    required: {
      conditioning: { kind: 'LINK', type: 'CONDITIONING' },
      ...hintInputs,
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, control_net, image, strength }) {
    if (strength === 0) return { outputs: [conditioning] };
    const applied: Conditioning = conditioning.map((entry) => ({
      ...entry,
      control: { controlNet: control_net, hint: image, strength, startPercent: 0, endPercent: 1, previous: entry.control },
      controlApplyToUncond: true,
    }));
    return { outputs: [applied] };
  },
});

/** Adds one link per distinct previous control; entries sharing a previous link share the new one (one run). */
function applyControl(conditionings: Conditioning[], make: (previous: ControlLink | undefined) => ControlLink): Conditioning[] {
  const links = new Map<ControlLink | undefined, ControlLink>();
  return conditionings.map((conditioning) => conditioning.map((entry) => {
    let link = links.get(entry.control);
    if (!link) {
      link = make(entry.control);
      links.set(entry.control, link);
    }
    return { ...entry, control: link, controlApplyToUncond: false };
  }));
}

export const ControlNetApplyAdvanced = defineNode({
  name: 'ControlNetApplyAdvanced',
  displayName: 'Apply ControlNet',
  category: 'conditioning/controlnet',
  description: 'Attaches a ControlNet and its hint to both the positive and the negative conditioning, active between start_percent and end_percent of the sampling schedule.',
  inputs: {
    required: {
      positive: { kind: 'LINK', type: 'CONDITIONING' },
      negative: { kind: 'LINK', type: 'CONDITIONING' },
      ...hintInputs,
      start_percent: { kind: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end_percent: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
    optional: {
      // ComfyUI uses the VAE only for ControlNets that take latent hints (SD3 / Flux); SD1.5 ControlNets ignore it.
      vae: { kind: 'LINK', type: 'VAE' },
    },
  },
  outputs: [{ type: 'CONDITIONING', name: 'positive' }, { type: 'CONDITIONING', name: 'negative' }],
  run({ positive, negative, control_net, image, strength, start_percent, end_percent }) {
    if (strength === 0) return { outputs: [positive, negative] };
    const hint: ImageBatch = image;
    const [p, n] = applyControl([positive, negative], (previous) => ({
      controlNet: control_net, hint, strength, startPercent: start_percent, endPercent: end_percent, previous,
    }));
    return { outputs: [p, n] };
  },
});

export const Canny = defineNode({
  name: 'Canny',
  displayName: 'Canny',
  category: 'image/preprocessors',
  description: 'Canny edge map (white edges on black) as ComfyUI computes it: Gaussian blur, Sobel, non-maximum suppression, hysteresis between the two thresholds.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      low_threshold: { kind: 'FLOAT', default: 0.4, min: 0.01, max: 0.99, step: 0.01 },
      high_threshold: { kind: 'FLOAT', default: 0.8, min: 0.01, max: 0.99, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, low_threshold, high_threshold }) {
    return { outputs: [cannyEdges(image, { lowThreshold: low_threshold, highThreshold: high_threshold })] };
  },
});

export const ImageToDepthStyle = defineNode({
  name: 'ImageToDepthStyle',
  displayName: 'Image to Depth-Style Hint',
  category: 'image/preprocessors',
  description: 'A grayscale depth-style hint without a depth model: luminance, stretched to 0..1 per image, optionally inverted.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      invert: { kind: 'BOOLEAN', default: false, tooltip: 'Invert (1 − v), so that dark areas become near (bright).' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, invert }) {
    return { outputs: [depthStyle(image, { invert })] };
  },
});

export const controlnetNodes = [ControlNetLoader, DiffControlNetLoader, ControlNetApply, ControlNetApplyAdvanced, Canny, ImageToDepthStyle];
