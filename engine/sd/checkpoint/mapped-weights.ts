// A WeightSource over one safetensors file whose tensors may be named in another layout (LDM vs
// diffusers): each diffusers name maps to candidate keys, the first present wins, and a missing weight
// is reported by its key in the file.
import { weightRef } from '../../onnx/index.ts';
import type { SafetensorsFile, WeightSource, WeightRef } from '../../onnx/index.ts';

export interface MappedWeights {
  /** Candidate keys in the file for a diffusers weight name, most likely first. */
  candidates(name: string): string[];
  /** The error for a weight the file lacks: `expected` is the key looked for, `name` the diffusers name. */
  missing(expected: string, name: string): Error;
  /** Reinterprets a found weight (e.g. a [C,C,1,1] conv stored for a Linear [C,C]). */
  adjust?(name: string, ref: WeightRef): WeightRef;
}

export function mappedWeightSource(file: SafetensorsFile, mapping: MappedWeights): WeightSource {
  const find = (name: string) => mapping.candidates(name).find((k) => file.tensors.has(k));
  return {
    has: (name) => find(name) !== undefined,
    weight: (name): WeightRef => {
      const key = find(name);
      if (key === undefined) throw mapping.missing(mapping.candidates(name)[0] ?? name, name);
      const ref = weightRef(file, file.tensors.get(key)!);
      return mapping.adjust ? mapping.adjust(name, ref) : ref;
    },
  };
}
