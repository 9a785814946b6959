// UNet graph variants as one typed options value (style.md §3): the base UNet plus the graph patches it names,
// each a GraphPatchKind (graph-patch.ts) in its own module: recorded transformer features (recorded-features.ts),
// the Embedded Attention Adapter (inv-adapter/unet-eaa.ts), ControlNet residuals (controlnet/unet-controlnet.ts)
// GLIGEN's gated self-attention (gligen/unet-gligen.ts) and hypernetworks (hypernetwork/unet-hypernetwork.ts).
// The value goes into the graph cache key; unet.ts asks the composed additions, per block, what to add.
import type { GraphBuilder, ComputeType, Value } from '../../onnx/index.ts';
import { add } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { eaaGraphPatch } from '../inv-adapter/unet-eaa.ts';
import { controlnetGraphPatch } from '../controlnet/unet-controlnet.ts';
import { recordFeaturesPatch } from './recorded-features.ts';
import { gligenGraphPatch } from '../gligen/unet-gligen.ts';
import { hypernetworkGraphPatch } from '../hypernetwork/unet-hypernetwork.ts';
import type { GraphAdditions, GraphPatchKind } from './graph-patch.ts';
import type { UnetInputs, UnetExtras, BlockExtras, AttentionParts, KeyValueInputs } from './unet-layers.ts';

export type { UnetExtras, BlockExtras } from './unet-layers.ts';
export type { ControlnetVariant } from '../controlnet/unet-controlnet.ts';
export type { EaaVariant } from '../inv-adapter/unet-eaa.ts';
export type { GligenVariant } from '../gligen/unet-gligen.ts';
export type { HypernetworkVariant } from '../hypernetwork/unet-hypernetwork.ts';
export { UnetVariantError } from './unet-blocks.ts';

/**
 * The graph patch kinds, in the order their additions compose: per-block adapters chain in this order (each sees
 * the previous one's attention result as `out`), residuals add up, outputs are appended in this order. A new
 * kind is one module exporting a GraphPatchKind and one entry here (its UnetVariant field follows from its name).
 */
export const UNET_GRAPH_PATCHES = [recordFeaturesPatch, eaaGraphPatch, controlnetGraphPatch, gligenGraphPatch, hypernetworkGraphPatch] as const;

type AnyKind = (typeof UNET_GRAPH_PATCHES)[number];
type SpecOf<K> = K extends GraphPatchKind<string, infer Spec> ? Spec : never;

/** The graph patches by name (each documented beside its kind), plus the compute type. */
export type UnetVariant = {
  /** Activation/weight type inside the graph (default float32; float16 for GPUs). */
  compute?: ComputeType;
} & { [K in AnyKind as K['name']]?: SpecOf<K> };

/** The kinds `variant` turns on, each with its spec, in composition order. */
function activePatches(variant: UnetVariant): Array<{ kind: GraphPatchKind<string, unknown>; spec: unknown }> {
  return UNET_GRAPH_PATCHES.flatMap((kind) => {
    const spec = variant[kind.name];
    return spec === undefined || spec === false ? [] : [{ kind: kind as GraphPatchKind<string, unknown>, spec }];
  });
}

/** Refuses variants the config cannot carry (checked before building). */
export function checkVariant(config: UnetConfig, variant: UnetVariant): void {
  for (const { kind, spec } of activePatches(variant)) kind.check?.(config, spec);
}

/** Fingerprints of the files the variant's patches read (graph cache key), in composition order. */
export function variantFingerprints(variant: UnetVariant): string[] {
  return activePatches(variant).flatMap(({ kind, spec }) => kind.fingerprints?.(spec) ?? []);
}

/** The variant as it goes into the graph cache key: each spec as its kind's `cacheKey` gives it (e.g. without
 *  opened files, whose identity the fingerprints carry). */
export function variantKey(variant: UnetVariant): UnetVariant {
  const key: Record<string, unknown> = { ...variant };
  for (const { kind, spec } of activePatches(variant)) if (kind.cacheKey) key[kind.name] = kind.cacheKey(spec);
  return key as UnetVariant;
}

/** Adapters chained: each gets the previous result as the attention's `out`. */
function chainAdapters(adapters: Array<(parts: AttentionParts) => Value>): ((parts: AttentionParts) => Value) | undefined {
  if (adapters.length === 0) return undefined;
  return (parts) => adapters.reduce((out, adapter) => adapter({ ...parts, out }), parts.out);
}

/** Key/value input rewrites chained in patch order. */
function chainKeyValue(rewrites: Array<(inputs: KeyValueInputs) => KeyValueInputs>): ((inputs: KeyValueInputs) => KeyValueInputs) | undefined {
  return rewrites.length === 0 ? undefined : (inputs) => rewrites.reduce((kv, rewrite) => rewrite(kv), inputs);
}

/** One block's additions of every patch, composed. A new kind of hook: a field of BlockExtras (unet-layers.ts),
 *  called where it acts in basicTransformerBlock, and its composition rule here. */
function composeBlock(parts: BlockExtras[]): BlockExtras {
  const records = parts.flatMap((p) => (p.record ? [p.record] : []));
  const out: BlockExtras = {};
  if (records.length) out.record = (self, cross) => records.forEach((r) => r(self, cross));
  const selfAdapter = chainAdapters(parts.flatMap((p) => (p.selfAdapter ? [p.selfAdapter] : [])));
  const crossAdapter = chainAdapters(parts.flatMap((p) => (p.crossAdapter ? [p.crossAdapter] : [])));
  if (selfAdapter) out.selfAdapter = selfAdapter;
  if (crossAdapter) out.crossAdapter = crossAdapter;
  const selfKeyValue = chainKeyValue(parts.flatMap((p) => (p.selfKeyValue ? [p.selfKeyValue] : [])));
  const crossKeyValue = chainKeyValue(parts.flatMap((p) => (p.crossKeyValue ? [p.crossKeyValue] : [])));
  if (selfKeyValue) out.selfKeyValue = selfKeyValue;
  if (crossKeyValue) out.crossKeyValue = crossKeyValue;
  const afterSelf = parts.flatMap((p) => (p.afterSelfAttention ? [p.afterSelfAttention] : []));
  if (afterSelf.length) out.afterSelfAttention = (hidden) => afterSelf.reduce((h, hook) => hook(h), hidden);
  return out;
}

/** The residuals of every patch that has one, summed (undefined: none). */
function sumResiduals<A extends unknown[]>(parts: Array<((...args: A) => Value) | undefined>): ((...args: A) => Value) | undefined {
  const present = parts.filter((p): p is (...args: A) => Value => p !== undefined);
  if (present.length === 0) return undefined;
  return (...args) => present.slice(1).reduce((sum, p) => add(sum, p(...args)), present[0](...args));
}

/** Builds every patch of `variant` on graph g (in UNET_GRAPH_PATCHES order) and composes their additions. */
export function variantExtras(g: GraphBuilder, config: UnetConfig, variant: UnetVariant, inputs: UnetInputs): UnetExtras {
  const additions: GraphAdditions[] = activePatches(variant).map(({ kind, spec }) => kind.build(g, config, spec, inputs));
  const extras: UnetExtras = {
    block: (block, width, heads) => composeBlock(additions.flatMap((a) => (a.block ? [a.block(block, width, heads)] : []))),
    finish: () => additions.forEach((a) => a.finish?.()),
  };
  const downResidual = sumResiduals(additions.map((a) => a.downResidual));
  const midResidual = sumResiduals(additions.map((a) => a.midResidual));
  if (downResidual) extras.downResidual = downResidual;
  if (midResidual) extras.midResidual = midResidual;
  return extras;
}
