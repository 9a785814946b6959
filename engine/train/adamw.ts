// AdamW with global-norm gradient clipping (inv-adapter.md §6: β 0.9/0.999, ε 1e-8, lr 1e-4, weight
// decay 1e-2 on the matrices, clip at norm 1). Plain TypeScript over Float32Arrays: the adapter has a
// few million parameters, so the update costs little next to the step graph. State is serialisable
// so a run resumes exactly.
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  clipNorm: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, clipNorm: 1 };

export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  readonly options: AdamWOptions;
  state: AdamWState = { step: 0, m: {}, v: {} };

  /** `decayed(name)` says which parameters get weight decay (the matrices, not biases). */
  constructor(options: Partial<AdamWOptions> = {}, private readonly decayed: (name: string) => boolean = () => true) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
  }

  /** Updates `params` in place from `grads`; returns the gradient norm before clipping. */
  update(params: Record<string, Float32Array>, grads: Record<string, Float32Array>): number {
    const { lr, beta1, beta2, eps, weightDecay, clipNorm } = this.options;
    let sq = 0;
    for (const name of Object.keys(params)) {
      const g = grads[name];
      if (!g || g.length !== params[name].length) throw new Error(`AdamW: gradient of ${name} is missing or has the wrong size`);
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    }
    const norm = Math.sqrt(sq);
    if (!Number.isFinite(norm)) throw new Error('AdamW: the gradient is not finite (NaN or Inf); lower the learning rate');
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    const t = ++this.state.step;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      const m = (this.state.m[name] ??= new Float32Array(p.length));
      const v = (this.state.v[name] ??= new Float32Array(p.length));
      const wd = this.decayed(name) ? weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] * scale;
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p[i] -= lr * ((m[i] / c1) / (Math.sqrt(v[i] / c2) + eps) + wd * p[i]);
      }
    }
    return norm;
  }
}
