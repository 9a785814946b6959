// The contract of a UNet graph patch kind: one optional field of UnetVariant (a JSON value that goes into the
// graph cache key) and the code that adds its inputs, outputs and terms to the graph. unet-variant.ts lists the
// kinds in the order they are applied; a new kind (e.g. GLIGEN) is one module exporting a GraphPatchKind plus
// one line in that list. The sampler side of a patch (its per-call feeds) is sd/model-patch.ts.
import type { GraphBuilder } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import type { UnetInputs, UnetExtras } from './unet-layers.ts';

/** What one patch adds to a UNet graph; every part is optional. */
export type GraphAdditions = Partial<UnetExtras>;

export interface GraphPatchKind<Name extends string, Spec> {
  /** Its field in UnetVariant, e.g. `eaa`; a falsy or absent field means the patch is off. */
  readonly name: Name;
  /** Refuses specs this UNet cannot carry (called before anything is built). */
  check?(config: UnetConfig, spec: Spec): void;
  /** Fingerprints of the files the patch reads (added to the graph cache key beside the spec itself). */
  fingerprints?(spec: Spec): string[];
  /** The spec as it goes into the graph cache key (default: the spec itself), e.g. leaving out opened files. */
  cacheKey?(spec: Spec): unknown;
  /** Declares the patch's inputs and returns its terms; called once per graph, before the UNet's own nodes. */
  build(g: GraphBuilder, config: UnetConfig, spec: Spec, inputs: UnetInputs): GraphAdditions;
}

/** Typed identity, so a kind's name stays a literal type (UnetVariant's fields are derived from the names). */
export function defineGraphPatch<const Name extends string, Spec>(kind: GraphPatchKind<Name, Spec>): GraphPatchKind<Name, Spec> {
  return kind;
}
