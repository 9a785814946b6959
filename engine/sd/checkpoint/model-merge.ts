// Model merging (ComfyUI comfy_extras/nodes_model_merging.py): ModelMergeSimple / Subtract / Add and CLIPMergeSimple
// patch model1's weights with model2's as `add_patches(kp, b, a)`: W = a·W1 + b·W2 for every weight both have
// (shapes differing: a·W1). Here each merged weight is a small constant expression in the graph, for onnxruntime's
// constant folding to compute when the session loads: no merged copy is written (per-step cost not measured yet).
import { add, mul, floatConst } from '../../onnx/index.ts';
import type { Value, WeightSource } from '../../onnx/index.ts';
import type { Checkpoint } from './checkpoint.ts';

export class ModelMergeError extends Error {}

type Network = 'unet' | 'textEncoder';

function scaled(v: Value, factor: number): Value {
  return factor === 1 ? v : mul(v, floatConst(v.graph, [factor], [], v.dtype));
}

function mergedSource(first: WeightSource, second: WeightSource, a: number, b: number, skip: (name: string) => boolean): WeightSource {
  return {
    has: (name) => first.has(name),
    weight: (name) => first.weight(name),
    lowRank: first.lowRank && ((name) => first.lowRank!(name)),
    combine: (name, load) => {
      if (skip(name) || !first.has(name)) return undefined;
      const v1 = load(first, name, 'merge1');
      if (!second.has(name) || b === 0) return scaled(v1, a);
      const v2 = load(second, name, 'merge2');
      if (v1.shape.length !== v2.shape.length || v1.shape.some((d, i) => d !== v2.shape[i])) return scaled(v1, a);
      return add(scaled(v1, a), scaled(v2, b));
    },
  };
}

/**
 * model1's checkpoint with one network merged with model2's: W = a·W1 + b·W2. LoRAs must be applied after merging
 * (ComfyUI would scale a LoRA of model1 by `a`; invgraph keeps LoRAs as separate branches and refuses that case).
 */
export function mergeNetwork(first: Checkpoint, second: Checkpoint, net: Network, a: number, b: number): Checkpoint {
  for (const [which, c] of [['model1', first], ['model2', second]] as const) {
    if (c.loras && c.loras[net].length > 0) throw new ModelMergeError(`${which} has LoRAs applied; apply LoRAs after merging models (put the LoRA loader after the merge node)`);
  }
  const config = net === 'unet' ? [first.config.unet, second.config.unet] : [first.config.clip, second.config.clip];
  if (JSON.stringify(config[0]) !== JSON.stringify(config[1])) {
    throw new ModelMergeError(`cannot merge ${first.path} with ${second.path}: their ${net === 'unet' ? 'UNets' : 'text encoders'} have different architectures`);
  }
  // ComfyUI's CLIPMergeSimple leaves position_ids and logit_scale alone (no graph of ours reads them).
  const skip = (name: string) => net === 'textEncoder' && /\.(position_ids|logit_scale)$/.test(name);
  return {
    ...first,
    [net]: mergedSource(first[net], second[net], a, b, skip),
    fingerprint: `merge(${first.fingerprint}*${a},${net},${second.fingerprint}*${b})`,
  };
}
