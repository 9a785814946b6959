// ComfyUI's conditioning arithmetic nodes (nodes.py): ConditioningAverage, ConditioningConcat and
// ConditioningZeroOut. Each maps every entry of conditioning_to, using only the first entry of
// conditioning_from (as ComfyUI, which warns about the rest); the entry's other fields (ControlNets) stay.
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import { makeTensor, type Tensor } from '../engine/tensor/index.ts';
import type { Conditioning } from '../engine/sd/index.ts';

function firstEmbeds(conditioning: Conditioning, name: string): Tensor {
  if (conditioning.length === 0) throw new Error(`${name} is an empty conditioning`);
  return conditioning[0].embeds;
}

/** Row r of `from` ([1 or rows, S, C]) for an embedding with `rows` rows. */
function rowOf(from: Tensor, r: number, rows: number): Float32Array {
  const [n, s, c] = from.dims;
  if (n !== 1 && n !== rows) throw new Error(`conditioning_from has ${n} rows, conditioning_to ${rows}; use 1 or ${rows}`);
  const at = n === 1 ? 0 : r;
  return from.data.subarray(at * s * c, (at + 1) * s * c);
}

/** to·strength + from·(1 − strength); `from` is cut or zero-padded to to's token count. */
export function averageEmbeds(to: Tensor, from: Tensor, strength: number): Tensor {
  const [rows, tokens, channels] = to.dims;
  if (from.dims[2] !== channels) throw new Error(`the conditionings have widths ${channels} and ${from.dims[2]}: they come from different text encoders`);
  const out = makeTensor(to.dims);
  const fromTokens = from.dims[1];
  for (let r = 0; r < rows; r++) {
    const source = rowOf(from, r, rows);
    for (let t = 0; t < tokens; t++) {
      for (let k = 0; k < channels; k++) {
        const i = (r * tokens + t) * channels + k;
        const f = t < fromTokens ? source[t * channels + k] : 0;
        out.data[i] = Math.fround(to.data[i] * strength) + Math.fround(f * (1 - strength));
      }
    }
  }
  return out;
}

/** torch.cat((to, from), 1): from's tokens after to's. */
export function concatEmbeds(to: Tensor, from: Tensor): Tensor {
  const [rows, tokens, channels] = to.dims;
  if (from.dims[2] !== channels) throw new Error(`the conditionings have widths ${channels} and ${from.dims[2]}: they come from different text encoders`);
  const fromTokens = from.dims[1];
  const out = makeTensor([rows, tokens + fromTokens, channels]);
  for (let r = 0; r < rows; r++) {
    out.data.set(to.data.subarray(r * tokens * channels, (r + 1) * tokens * channels), r * (tokens + fromTokens) * channels);
    out.data.set(rowOf(from, r, rows), (r * (tokens + fromTokens) + tokens) * channels);
  }
  return out;
}

const conditioningIn = { kind: 'LINK', type: 'CONDITIONING' } as const;

export const ConditioningAverage = defineNode({
  name: 'ConditioningAverage',
  displayName: 'ConditioningAverage',
  category: 'conditioning',
  description: 'conditioning_to × strength + conditioning_from × (1 − strength), token by token (from is cut or zero-padded to to\'s length).',
  inputs: {
    required: {
      conditioning_to: conditioningIn,
      conditioning_from: conditioningIn,
      conditioning_to_strength: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_to, conditioning_from, conditioning_to_strength }) {
    const from = firstEmbeds(conditioning_from, 'conditioning_from');
    return { outputs: [conditioning_to.map((entry) => ({ ...entry, embeds: averageEmbeds(entry.embeds, from, conditioning_to_strength) }))] };
  },
});

export const ConditioningConcat = defineNode({
  name: 'ConditioningConcat',
  displayName: 'Conditioning (Concat)',
  category: 'conditioning',
  description: 'Appends conditioning_from\'s tokens to each conditioning_to entry.',
  inputs: { required: { conditioning_to: conditioningIn, conditioning_from: conditioningIn } },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_to, conditioning_from }) {
    const from = firstEmbeds(conditioning_from, 'conditioning_from');
    return { outputs: [conditioning_to.map((entry) => ({ ...entry, embeds: concatEmbeds(entry.embeds, from) }))] };
  },
});

export const ConditioningZeroOut = defineNode({
  name: 'ConditioningZeroOut',
  displayName: 'ConditioningZeroOut',
  category: 'advanced/conditioning',
  description: 'The same conditioning with every embedding value set to 0.',
  inputs: { required: { conditioning: conditioningIn } },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning }) {
    return { outputs: [conditioning.map((entry) => ({ ...entry, embeds: makeTensor(entry.embeds.dims) }))] };
  },
});

export const conditioningOpNodes: readonly NodeDefinition[] = [ConditioningAverage, ConditioningConcat, ConditioningZeroOut];
