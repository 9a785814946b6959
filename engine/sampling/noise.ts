// Deterministic Gaussian noise from a 64-bit seed, the same on every platform: Philox4x32-10 (Salmon et al.,
// SC'11; Random123 known-answer vectors in the tests) → 53-bit uniforms → Box–Muller in float64 → float32.
//
// Exact definition, for re-implementing elsewhere:
//   key      = (seed & 0xffffffff, seed >> 32)          the whole 64-bit seed, no folding to 53 bits
//   counter  = (block & 0xffffffff, block >> 32, stream, node)   block = 0, 1, 2, … within a stream;
//              node = 0 except in the Brownian tree (brownian.ts), where it names the tree node
//   one block gives 4 words w0..w3 → u1 = ((w0 >>> 5)·2^26 + (w1 >>> 6) + 1) / 2^53  ∈ (0, 1]
//                                     u2 = ((w2 >>> 5)·2^26 + (w3 >>> 6)) / 2^53      ∈ [0, 1)
//   r = √(−2 ln u1), θ = 2π·u2;  normals 2·block = r·cos θ, 2·block + 1 = r·sin θ, each rounded to float32.
// Math.log/cos/sin are V8's own software implementations (fdlibm ports), so the bits do not depend on the
// CPU or OS. Streams: 0 = the initial latent noise, 1 = the sampler's per-step noise (ancestral, lcm),
// 2 = the Brownian tree of dpmpp_2m_sde.
// Not torch's generator: ComfyUI seeds give the same *kind* of noise here, not ComfyUI's exact noise.

import { SamplingInputError } from './errors.ts';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;
const SEED_LIMIT = 1n << 64n;

export const NOISE_STREAM_LATENT = 0;
export const NOISE_STREAM_SAMPLER = 1;
export const NOISE_STREAM_BROWNIAN = 2;

/** High 32 bits of the 64-bit product a·b (both uint32), exact: 16-bit halves, every sum below 2^34. */
function mulHigh(a: number, b: number): number {
  const aHigh = a >>> 16;
  const aLow = a & 0xffff;
  const bHigh = b >>> 16;
  const bLow = b & 0xffff;
  const cross1 = aHigh * bLow;
  const cross2 = aLow * bHigh;
  const carry = (((aLow * bLow) >>> 16) + (cross1 & 0xffff) + (cross2 & 0xffff)) >>> 16;
  return (aHigh * bHigh + (cross1 >>> 16) + (cross2 >>> 16) + carry) >>> 0;
}

/** Philox4x32 with 10 rounds: counter (4 words) and key (2 words) → 4 words, written into `out`. */
export function philox4x32(counter: readonly number[], key: readonly number[], out: Uint32Array): void {
  philoxBlock(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
}

/** The same on scalars (no allocation: this runs once per two normals). */
function philoxBlock(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    const high0 = mulHigh(M0, c0);
    const low0 = Math.imul(M0, c0) >>> 0;
    const high1 = mulHigh(M1, c2);
    const low1 = Math.imul(M1, c2) >>> 0;
    c0 = (high1 ^ c1 ^ k0) >>> 0;
    c1 = low1;
    c2 = (high0 ^ c3 ^ k1) >>> 0;
    c3 = low0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Throws unless the seed is an integer in [0, 2^64 − 1] (ComfyUI's seed range). */
export function checkSeed(seed: bigint): void {
  if (seed < 0n || seed >= SEED_LIMIT) {
    throw new SamplingInputError(`noise seed ${seed} is outside 0 … 18446744073709551615; use a seed in that range`);
  }
}

/** A sequence of standard normals; successive `next` calls continue where the last one stopped. */
export class NoiseStream {
  private readonly key: [number, number];
  private readonly stream: number;
  private readonly node: number;
  private block = 0;
  private spare: number | undefined;
  private readonly words = new Uint32Array(4);

  constructor(seed: bigint, stream: number, node = 0) {
    checkSeed(seed);
    this.key = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
    this.stream = stream >>> 0;
    this.node = node >>> 0;
  }

  next(count: number): Float32Array {
    const out = new Float32Array(count);
    let i = 0;
    if (this.spare !== undefined && count > 0) {
      out[i++] = this.spare;
      this.spare = undefined;
    }
    const words = this.words;
    while (i < count) {
      const block = this.block++;
      philoxBlock(block >>> 0, Math.floor(block / 4294967296), this.stream, this.node, this.key[0], this.key[1], words);
      const u1 = ((words[0] >>> 5) * TWO_POW_26 + (words[1] >>> 6) + 1) / TWO_POW_53;
      const u2 = ((words[2] >>> 5) * TWO_POW_26 + (words[3] >>> 6)) / TWO_POW_53;
      const radius = Math.sqrt(-2 * Math.log(u1));
      const angle = 2 * Math.PI * u2;
      out[i++] = radius * Math.cos(angle); // the Float32Array store rounds to float32
      const second = Math.fround(radius * Math.sin(angle));
      if (i < count) out[i++] = second;
      else this.spare = second;
    }
    return out;
  }
}

/** Standard-normal noise of the given dims from stream 0 of `seed` (row-major, float32). */
export function gaussianNoise(seed: bigint, dims: readonly number[]): Float32Array {
  const count = dims.reduce((n, d) => n * d, 1);
  return new NoiseStream(seed, NOISE_STREAM_LATENT).next(count);
}
