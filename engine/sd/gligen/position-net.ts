// GLIGEN's grounding tokens for one conditioning entry (ComfyUI comfy/gligen.py Gligen.set_position and
// PositionNet.forward): each box (text feature + normalised xyxy) goes through a Fourier embedding of the box and
// a 3-layer SiLU MLP; the slots up to MAX_OBJECTS that have no box take the learnt null features instead.
// Computed here in float32 (30 tokens, a few hundred thousand multiply-adds), once per crop size.
import { FOURIER_FREQS, MAX_OBJECTS, POSITION_DIM, type GligenModel } from './gligen-file.ts';

const f32 = Math.fround;

/** One box of GLIGENTextBoxApply in latent cells (pixels // 8) with its text's pooled CLIP feature. */
export interface GligenBox {
  text: Float32Array;
  height: number;
  width: number;
  y: number;
  x: number;
}

/** FourierEmbedder(8, temperature 100): for each frequency 100^(k/8), sin then cos of every coordinate. */
export function fourierEmbedding(coords: readonly number[]): Float32Array {
  const out = new Float32Array(FOURIER_FREQS * 2 * coords.length);
  for (let k = 0; k < FOURIER_FREQS; k++) {
    const freq = f32(100 ** f32(k / FOURIER_FREQS));
    coords.forEach((c, i) => {
      const arg = f32(freq * f32(c));
      out[2 * k * coords.length + i] = Math.sin(arg);
      out[(2 * k + 1) * coords.length + i] = Math.cos(arg);
    });
  }
  return out;
}

/** y = W·x + b for a [out, in] weight. */
function linear(weight: Float32Array, bias: Float32Array, x: Float32Array): Float32Array {
  const outDim = bias.length;
  const inDim = x.length;
  const y = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let sum = 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) sum += weight[row + i] * x[i];
    y[o] = sum + bias[o];
  }
  return y;
}

function silu(x: Float32Array): Float32Array {
  return x.map((v) => v / (1 + Math.exp(-v)));
}

interface PositionWeights {
  nullText: Float32Array;
  nullPosition: Float32Array;
  layers: Array<{ weight: Float32Array; bias: Float32Array }>;
}

const weightCache = new WeakMap<GligenModel, PositionWeights>();

function positionWeights(gligen: GligenModel): PositionWeights {
  let w = weightCache.get(gligen);
  if (!w) {
    const read = (name: string) => gligen.file.read(`position_net.${name}`);
    w = {
      nullText: read('null_positive_feature'),
      nullPosition: read('null_position_feature'),
      layers: [0, 2, 4].map((i) => ({ weight: read(`linears.${i}.weight`), bias: read(`linears.${i}.bias`) })),
    };
    weightCache.set(gligen, w);
  }
  return w;
}

/**
 * The grounding tokens [MAX_OBJECTS, keyDim] for boxes on a latent (or area crop) of `height`×`width` cells:
 * box k is (x/w, y/h, (x+width)/w, (y+height)/h); slots past the last box hold the null features (set_empty is
 * the same with no box). The same for every row of a call (ComfyUI repeats them over the batch).
 */
export function groundingTokens(gligen: GligenModel, boxes: readonly GligenBox[], height: number, width: number): Float32Array {
  if (boxes.length > MAX_OBJECTS) throw new Error(`GLIGEN takes at most ${MAX_OBJECTS} boxes per conditioning; this one has ${boxes.length}`);
  const w = positionWeights(gligen);
  const out = new Float32Array(MAX_OBJECTS * gligen.keyDim);
  const input = new Float32Array(gligen.textDim + POSITION_DIM);
  for (let k = 0; k < MAX_OBJECTS; k++) {
    const box = boxes[k];
    if (box) {
      if (box.text.length !== gligen.textDim) throw new Error(`a GLIGEN box has a ${box.text.length}-wide text feature; this GLIGEN model takes ${gligen.textDim}`);
      input.set(box.text, 0);
      input.set(fourierEmbedding([box.x / width, box.y / height, (box.x + box.width) / width, (box.y + box.height) / height]), gligen.textDim);
    } else {
      input.set(w.nullText, 0);
      input.set(w.nullPosition, gligen.textDim);
    }
    const [l0, l1, l2] = w.layers;
    out.set(linear(l2.weight, l2.bias, silu(linear(l1.weight, l1.bias, silu(linear(l0.weight, l0.bias, input))))), k * gligen.keyDim);
  }
  return out;
}
