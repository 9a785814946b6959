// HypernetworkLoader's model patch (../model-patch.ts): the `hypernetwork` graph part (unet-hypernetwork.ts) and
// the strength feeds. A MODEL carries at most one such patch; loading another hypernetwork onto it extends the
// patch's list (ComfyUI appends to the attn1/attn2 patch lists), keeping its place among the model's patches.
import type { ModelPatch } from '../model-patch.ts';
import type { Hypernetwork } from './hypernetwork-file.ts';
import { HYPERNETWORK_INPUT } from './hypernetwork-io.ts';

export const HYPERNETWORK_PATCH_KIND = 'hypernetwork';

export interface HypernetworkPatch extends ModelPatch {
  readonly kind: typeof HYPERNETWORK_PATCH_KIND;
  readonly nets: ReadonlyArray<{ net: Hypernetwork; strength: number }>;
}

export function hypernetworkPatch(nets: ReadonlyArray<{ net: Hypernetwork; strength: number }>): HypernetworkPatch {
  const feeds = Object.fromEntries(nets.map((n, i) => [HYPERNETWORK_INPUT.strength(i), { dims: [1], data: Float32Array.of(n.strength) }]));
  return {
    kind: HYPERNETWORK_PATCH_KIND,
    nets,
    prepare: () => ({ variant: { hypernetwork: { nets: nets.map((n) => ({ path: n.net.path })) } }, extraFeeds: () => feeds }),
  };
}

/** The model's patches with `net` added: appended to its hypernetwork patch, or a new one at the end. */
export function withHypernetwork(patches: readonly ModelPatch[], net: Hypernetwork, strength: number): ModelPatch[] {
  const at = patches.findIndex((p) => p.kind === HYPERNETWORK_PATCH_KIND);
  if (at < 0) return [...patches, hypernetworkPatch([{ net, strength }])];
  const existing = patches[at] as HypernetworkPatch;
  return patches.map((p, i) => (i === at ? hypernetworkPatch([...existing.nets, { net, strength }]) : p));
}
