// Reverse-mode differentiation over graphs built with the project's own GraphBuilder. Differentiable ops
// (ops.ts) build their forward nodes and record a backward rule on a Tape; `gradients` then appends the
// backward nodes to the same graph, so one ONNX graph holds forward + backward and runs on any
// onnxruntime provider (every backward rule is expressed with ordinary inference ops).
// Only values that depend on a `param` get gradients: frozen weights enter as constants/initializers and
// no gradient is ever built for them (a backward rule is asked only for the inputs that need one).
import type { Value, GraphBuilder } from '../onnx/index.ts';
import { BuildError, add, floatConst } from '../onnx/index.ts';

/** Builds the input gradients of one recorded op; `needs[i]` says whether input i wants one. */
export type BackwardRule = (dy: Value, needs: readonly boolean[]) => Array<Value | null>;

interface Entry {
  out: Value;
  inputs: ReadonlyArray<Value | null>;
  backward: BackwardRule;
}

export class Tape {
  private readonly entries: Entry[] = [];
  private readonly tracked = new Set<string>();

  constructor(readonly graph: GraphBuilder) {}

  /** Marks a leaf value (a trainable parameter or an input) as needing gradients. */
  param(v: Value): Value {
    if (v.graph !== this.graph) throw new BuildError(`tape: value ${v.name} belongs to another graph`);
    this.tracked.add(v.name);
    return v;
  }

  requiresGrad(v: Value | null): boolean {
    return v !== null && this.tracked.has(v.name);
  }

  /** Records an op; a no-op when none of its inputs needs gradients (the frozen part of a network). */
  record(out: Value, inputs: ReadonlyArray<Value | null>, backward: BackwardRule): Value {
    if (inputs.some((v) => this.requiresGrad(v))) {
      this.tracked.add(out.name);
      this.entries.push({ out, inputs, backward });
    }
    return out;
  }

  /** Number of recorded (differentiable) ops, for reports and tests. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Appends the backward graph of `y` and returns d(Σ seed·y)/d(each of `wrt`). `seed` defaults to ones
   * (so a scalar loss gets dL/dθ). A `wrt` value that y does not depend on gets a zero gradient.
   */
  gradients(y: Value, wrt: readonly Value[], seed?: Value): Value[] {
    const g = this.graph;
    const grads = new Map<string, Value>();
    const numeric = y.shape.every((d) => typeof d === 'number');
    if (!seed && !numeric) throw new BuildError(`tape: gradients of ${y.name} need a seed (its shape is symbolic)`);
    const start = seed ?? floatConst(g, new Array<number>(count(y)).fill(1), y.shape as number[], y.dtype);
    grads.set(y.name, start);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      const dy = grads.get(e.out.name);
      if (!dy) continue;
      const needs = e.inputs.map((v) => this.requiresGrad(v));
      const dxs = e.backward(dy, needs);
      e.inputs.forEach((v, j) => {
        const dx = dxs[j];
        if (!v || !needs[j] || !dx) return;
        const known = grads.get(v.name);
        grads.set(v.name, known ? add(known, dx) : dx);
      });
    }
    return wrt.map((v) => grads.get(v.name) ?? floatConst(g, new Array<number>(count(v)).fill(0), v.shape as number[], v.dtype));
  }
}

function count(v: Value): number {
  return v.shape.reduce<number>((a, d) => {
    if (typeof d !== 'number') throw new BuildError(`tape: ${v.name} has a symbolic shape`);
    return a * d;
  }, 1);
}
