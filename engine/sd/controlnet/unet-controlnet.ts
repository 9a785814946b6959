// ControlNet residuals inside the UNet graph (sd15-reference.md §6.2): either given as inputs (UNet tests), or
// made in the same graph by one or more ControlNets (controlnet.ts), each with its own hint and per-row
// strength inputs, so residuals never leave onnxruntime and gating / CFG rows need no rebuild.
import { Module, mul, add, reshape, mulDims } from '../../onnx/index.ts';
import type { GraphBuilder, Value } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import type { UnetInputs } from '../unet/unet-layers.ts';
import { controlnetForward } from './controlnet.ts';
import type { ControlnetResiduals } from './controlnet.ts';
import { openControlnet, ControlnetError, resolveControlnetConfig } from './controlnet-checkpoint.ts';
import type { Controlnet } from './controlnet-checkpoint.ts';
import { defineGraphPatch } from '../unet/graph-patch.ts';
import { CONTROLNET_INPUT, CONTROLNET_OUTPUT } from './controlnet-io.ts';

/**
 * UnetVariant `controlnet`: where the residuals come from (input and output names: controlnet-io.ts).
 * - `inputs`: graph inputs `down_residual.<k>` (k = 0…11, shaped like skip k) and `mid_residual`.
 * - `fused`: the ControlNets in `nets` run in the graph, in chain order; net i adds inputs `controlnet.<i>.hint`
 *   float32 in [0,1] — [1,3,8·H,8·W] serving every row when `sharedHint`, else [B,3,8·H,8·W] — and
 *   `controlnet.<i>.strength` [B] (its conditioning scale per row; 0 = no effect, bitwise). Residuals of all nets
 *   are summed, then added to the skips / mid.
 *   With `outputResiduals` (parity, debugging) the graph also outputs `controlnet.<i>.down_residual.<k>` and
 *   `controlnet.<i>.mid_residual`, already × strength.
 */
export type ControlnetVariant =
  | { residuals: 'inputs' }
  | { residuals: 'fused'; nets: FusedControlnet[]; outputResiduals?: boolean };

export interface FusedControlnet {
  /** ControlNet .safetensors file or diffusers folder (controlnet-checkpoint.ts); weights are read in place. */
  path: string;
  /** One hint image for all rows (the usual case): its embedding is computed once per call, not per row. */
  sharedHint?: boolean;
  /** The opened net (ControlNetLoader's value); absent: opened from `path`. Needed for a difference ControlNet,
   *  whose weights depend on the model it was loaded with. Not part of the graph key (its fingerprint is). */
  net?: Controlnet;
}

function netOf(spec: FusedControlnet): Controlnet {
  return spec.net ?? openControlnet(spec.path);
}

/** The variant as it goes into the graph cache key: opened nets are left out (controlnetFingerprints adds their
 *  identity). */
export function controlnetVariantKey(variant: ControlnetVariant | undefined): ControlnetVariant | undefined {
  if (!variant || variant.residuals !== 'fused') return variant;
  return { ...variant, nets: variant.nets.map(({ net: _net, ...spec }) => spec) };
}

export interface ControlnetExtras {
  downResidual(index: number, skip: Value): Value;
  midResidual(mid: Value): Value;
  /** Adds the residual outputs of `outputResiduals`. */
  finish(): void;
}

/** Refuses variants that cannot be built (before building). */
export function checkControlnetVariant(variant: ControlnetVariant): void {
  if (variant.residuals === 'inputs') return;
  if (variant.residuals !== 'fused') throw new ControlnetError(`controlnet.residuals must be 'inputs' or 'fused', got ${JSON.stringify((variant as { residuals: unknown }).residuals)}`);
  if (!Array.isArray(variant.nets) || variant.nets.length === 0) throw new ControlnetError('a fused ControlNet variant needs at least one net');
}

/** Fingerprints of the ControlNet files a variant reads, with their declared heads (graph cache key). */
export function controlnetFingerprints(variant: ControlnetVariant | undefined): string[] {
  if (!variant || variant.residuals !== 'fused') return [];
  return variant.nets.map((spec) => {
    const net = netOf(spec);
    return `${net.fingerprint}:heads=${net.config.encoder.heads?.join('/') ?? 'unet'}`;
  });
}

/** A ControlNet's encoder must produce residuals shaped like this UNet's skips. */
function checkFits(net: Controlnet, unet: UnetConfig): void {
  const c = net.config.encoder;
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const mismatch = !same(c.blockOutChannels, unet.blockOutChannels) ? `widths ${c.blockOutChannels.join('/')} vs the UNet's ${unet.blockOutChannels.join('/')}`
    : c.layersPerBlock !== unet.layersPerBlock ? `${c.layersPerBlock} resnets per level vs the UNet's ${unet.layersPerBlock}`
      : c.crossAttentionDim !== unet.crossAttentionDim ? `text width ${c.crossAttentionDim} vs the UNet's ${unet.crossAttentionDim}`
        : c.inChannels !== unet.outChannels ? `${c.inChannels} latent channels vs the UNet's ${unet.outChannels}` : '';
  if (mismatch) throw new ControlnetError(`ControlNet ${net.path} does not fit this checkpoint (${mismatch}); use a ControlNet made for this base model`);
}

/** Each net's residuals × its per-row strength [B]. */
function scaledResiduals(g: GraphBuilder, net: Controlnet, spec: FusedControlnet & { index: number; weightPrefix: string; unet: UnetConfig }, inputs: UnetInputs): ControlnetResiduals {
  const [batch, , height, width] = inputs.sample.shape;
  const hint = g.input(CONTROLNET_INPUT.hint(spec.index), 'float32', [spec.sharedHint ? 1 : batch, net.config.hintChannels, mulDims(height, 8), mulDims(width, 8)]);
  const strength = g.input(CONTROLNET_INPUT.strength(spec.index), 'float32', [batch]);
  const root = new Module(g, net.weights, '', spec.weightPrefix);
  const residuals = controlnetForward(root, { ...inputs, controlnetCond: hint }, resolveControlnetConfig(net, spec.unet.heads));
  const perRow = reshape(strength, [strength.shape[0], 1, 1, 1]);
  return { down: residuals.down.map((r) => mul(r, perRow)), mid: mul(residuals.mid, perRow) };
}

/** Builds the residual terms of `variant` on graph g (inputs, or the fused ControlNets run on `inputs`). */
export function controlnetExtras(g: GraphBuilder, unet: UnetConfig, variant: ControlnetVariant, inputs: UnetInputs): ControlnetExtras {
  if (variant.residuals === 'inputs') {
    return {
      downResidual: (index, skip) => g.input(CONTROLNET_INPUT.downResidual(index), 'float32', skip.shape),
      midResidual: (mid) => g.input(CONTROLNET_INPUT.midResidual, 'float32', mid.shape),
      finish: () => {},
    };
  }
  // One set of initializers per distinct net: the same ControlNet used twice (two hints) shares its weights.
  const nets = variant.nets.map(netOf);
  const files = [...new Set(nets.map((n) => n.fingerprint))];
  const all = variant.nets.map((spec, i) => {
    const net = nets[i];
    checkFits(net, unet);
    return scaledResiduals(g, net, { ...spec, index: i, weightPrefix: `controlnet.${files.indexOf(net.fingerprint)}.`, unet }, inputs);
  });
  const down = all[0].down.map((_, k) => all.slice(1).reduce((sum, r) => add(sum, r.down[k]), all[0].down[k]));
  const mid = all.slice(1).reduce((sum, r) => add(sum, r.mid), all[0].mid);
  return {
    downResidual(index, skip) {
      if (!down[index]) throw new ControlnetError(`the ControlNet has ${down.length} down residuals but the UNet has skip ${index}`);
      return down[index];
    },
    midResidual: () => mid,
    finish() {
      if (!variant.outputResiduals) return;
      all.forEach((r, i) => {
        r.down.forEach((value, k) => g.output(value, CONTROLNET_OUTPUT.downResidual(i, k)));
        g.output(r.mid, CONTROLNET_OUTPUT.midResidual(i));
      });
    },
  };
}

/** The `controlnet` graph patch: residuals added to the skips and the mid block (run beside the UNet). */
export const controlnetGraphPatch = defineGraphPatch({
  name: 'controlnet',
  check: (_config, spec: ControlnetVariant) => checkControlnetVariant(spec),
  fingerprints: (spec) => controlnetFingerprints(spec),
  cacheKey: (spec) => controlnetVariantKey(spec),
  build: (g, config, spec, inputs) => controlnetExtras(g, config, spec, inputs),
});
