// A seeded Brownian motion W(σ) over [σ_min, σ_max], sampled lazily by bisection (a "Brownian tree", the
// idea of torchsde's BrownianTree that ComfyUI's dpmpp_2m_sde uses). Every value of W is a pure function
// of the seed and σ, so the noise of an interval does not depend on the other steps: more steps refine
// the same path instead of drawing a new one. Not bit-compatible with torchsde.

import { NoiseStream, NOISE_STREAM_BROWNIAN } from './noise.ts';

/** Bisection depth: leaves of σ range / 2^24 (~9e-7 for SD1.5), about torchsde's default tolerance of
 *  1e-6 and far below any step size. */
const MAX_DEPTH = 24;

export class BrownianTree {
  private readonly low: number;
  private readonly high: number;
  private readonly top: Float64Array;
  private readonly cache = new Map<number, Float64Array>();
  /** Midpoint values along the last bisection path, by depth: successive queries (a descending σ list)
   *  share the upper part of their paths, so those nodes are drawn once. */
  private readonly path: Array<{ node: number; value: Float64Array }> = [];

  constructor(
    private readonly seed: bigint,
    private readonly size: number,
    range: { sigmaMin: number; sigmaMax: number },
  ) {
    this.low = range.sigmaMin;
    this.high = range.sigmaMax;
    // W(σ_min) = 0, W(σ_max) ~ N(0, σ_max − σ_min): node 0 of the tree stream
    const scale = Math.sqrt(this.high - this.low);
    this.top = Float64Array.from(this.normals(0), (z) => z * scale);
  }

  private normals(node: number): Float32Array {
    return new NoiseStream(this.seed, NOISE_STREAM_BROWNIAN, node).next(this.size);
  }

  /** The Brownian bridge at the midpoint of [a, b]: (W_a + W_b)/2 + √((b − a)/4)·z, z from the node. */
  private midpoint(depth: number, node: number, ends: { wa: Float64Array; wb: Float64Array; width: number }): Float64Array {
    const known = this.path[depth];
    if (known !== undefined && known.node === node) return known.value;
    const z = this.normals(node);
    const spread = Math.sqrt(ends.width / 4);
    const value = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) value[i] = (ends.wa[i] + ends.wb[i]) / 2 + spread * z[i];
    this.path[depth] = { node, value };
    return value;
  }

  /** W(t): bisect [low, high] towards t; each midpoint is the Brownian bridge of its two ends. */
  at(t: number): Float64Array {
    const cached = this.cache.get(t);
    if (cached) return cached;
    let a = this.low;
    let b = this.high;
    let wa: Float64Array = new Float64Array(this.size);
    let wb: Float64Array = this.top;
    let node = 1;
    const clamped = Math.min(Math.max(t, a), b);
    for (let depth = 0; depth < MAX_DEPTH && clamped !== a && clamped !== b; depth++) {
      const m = (a + b) / 2;
      const wm = this.midpoint(depth, node, { wa, wb, width: b - a });
      if (clamped < m) [b, wb, node] = [m, wm, 2 * node];
      else [a, wa, node] = [m, wm, 2 * node + 1];
    }
    // linear between the last two ends (exact at a node, negligible error below the depth limit)
    const w = clamped === a ? wa : clamped === b ? wb : wa.map((v, i) => v + ((wb[i] - v) * (clamped - a)) / (b - a));
    this.cache.set(t, w);
    return w;
  }

  /** Standard-normal noise of the interval: (W(σ') − W(σ))/√|σ' − σ|. */
  increment(sigma: number, sigmaNext: number): Float32Array {
    const from = this.at(sigma);
    const to = this.at(sigmaNext);
    const scale = 1 / Math.sqrt(Math.abs(sigmaNext - sigma));
    return Float32Array.from(to, (v, i) => (v - from[i]) * scale);
  }
}
