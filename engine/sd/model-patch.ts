// The generic model patch: what a MODEL (or a conditioning, for ControlNet) adds to the UNet, in one shape the
// sampler applies without knowing what it is — graph additions (fields of UnetVariant, built by the graph patch
// kinds of unet/unet-variant.ts, part of the graph cache key) plus the feeds those additions need per model call.
// EAA (inv-adapter/eaa-patch.ts), LoRA (lora/lora-patch.ts), hypernetworks (hypernetwork/hypernetwork-patch.ts), ControlNet
// and GLIGEN (guided-unet.ts CONDITIONING_PATCHES) are patches of this kind. A new kind: one module with a ModelPatch
// (and, if it adds graph nodes, a GraphPatchKind).
import type { GuidanceConds, ModelCall, SigmaSchedule } from '../sampling/index.ts';
import type { Checkpoint } from './checkpoint/checkpoint.ts';
import type { UnetVariant } from './unet/unet-variant.ts';
import type { Feeds } from './unet/unet-io.ts';

/** The graph part of a patch: UnetVariant's patch fields (the compute type is the runtime's). */
export type PatchVariant = Omit<UnetVariant, 'compute'>;

/** A patch ready for one sampling run (its per-run state, e.g. caches, lives here). */
export interface PreparedPatch {
  /** Its UNet graph additions ({} for a patch that only feeds inputs the graph already has). */
  variant: PatchVariant;
  /** Its inputs for one model call of `rows` rows, by graph input name (names from its *-io.ts). */
  extraFeeds?(call: ModelCall, rows: number): Feeds;
  /** Refuses conditionings it cannot serve (e.g. areas), before any graph is built. */
  checkConds?(conds: GuidanceConds): void;
}

/** What a patch may know of the run it is prepared for. */
export interface PatchRun {
  /** The sampled model's checkpoint (LoRAs included). */
  checkpoint: Checkpoint;
  /** The model's σ table when ModelSamplingDiscrete changed it (undefined: SD1.5's): for start/end percentages. */
  schedule?: SigmaSchedule;
  log?: (message: string) => void;
}

/** A patch a MODEL carries (SdModel.patches). Immutable and shared between runs: `prepare` makes the run's state. */
export interface ModelPatch {
  /** What it is ('eaa', 'lora', …): for messages and for the node that looks for its own patch. */
  readonly kind: string;
  prepare(run: PatchRun): PreparedPatch;
}

export class ModelPatchError extends Error {}

/**
 * Patches composed in order: graph fields merged (two patches may not claim the same field — one graph addition
 * of a kind per UNet), feeds merged (a later patch's name would override an earlier one's, which distinct fields
 * rule out), conditioning checks all run.
 */
export function combinePatches(patches: readonly PreparedPatch[]): PreparedPatch {
  const variant: Record<string, unknown> = {};
  for (const patch of patches) {
    for (const [field, spec] of Object.entries(patch.variant)) {
      if (field in variant) throw new ModelPatchError(`two patches of this model both add the UNet's '${field}' part; apply it once`);
      variant[field] = spec;
    }
  }
  const feeders = patches.flatMap((p) => (p.extraFeeds ? [p.extraFeeds.bind(p)] : []));
  const checks = patches.flatMap((p) => (p.checkConds ? [p.checkConds.bind(p)] : []));
  return {
    variant: variant as PatchVariant,
    ...(feeders.length ? { extraFeeds: (call: ModelCall, rows: number) => Object.assign({}, ...feeders.map((f) => f(call, rows))) as Feeds } : {}),
    checkConds: (conds) => checks.forEach((check) => check(conds)),
  };
}
