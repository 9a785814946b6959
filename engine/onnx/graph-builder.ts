// GraphBuilder: collects ONNX nodes, initializers and graph inputs/outputs as shaped Values; Module gives
// a block its module path (node names, weight names). Weights are external initializers that point into
// the checkpoint's own bytes (sd15-reference.md §2.4); ops-nn.ts / ops-tensor.ts hold the op vocabulary.
import type { DType, ModelData, NodeData, TensorData, AttributeValue } from './onnx-proto.ts';
import { ONNX_DTYPE } from './onnx-proto.ts';
import type { Dim, Shape } from './dims.ts';
import { formatShape } from './dims.ts';

/** A tensor in the graph being built, with its (possibly symbolic) shape. */
export interface Value {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly graph: GraphBuilder;
  /** Module path of the node that made it; names the weight-free ops that consume it. */
  readonly scope: string;
}

/** Where a weight's bytes are: an absolute file path and a byte range inside it. */
export interface WeightRef {
  file: string;
  offset: number;
  length: number;
  dtype: DType;
  shape: readonly number[];
}

/** Resolves weight names (diffusers-style module paths) to byte ranges; throws naming a missing key. */
export interface WeightSource {
  weight(name: string): WeightRef;
  has(name: string): boolean;
  /** Low-rank additions (LoRA) to a weight, read from this source by their names (ops-nn lowRankDelta). */
  lowRank?(name: string): LowRankBranch[];
  /**
   * A weight computed from other sources' weights (model merging): `load` gives their values; undefined = read
   * `weight(name)` as usual. Constants only, for onnxruntime's constant folding to compute when the session loads.
   */
  combine?(name: string, load: (source: WeightSource, name: string, tag: string) => Value): Value | undefined;
}

/**
 * One LoRA addition to a weight W [out, in(, kh, kw)]: W + strength·scale·(up ∘ down), `down` and `up` weight
 * names of the same source; strength = graph input `lora_strengths`[slot] (length `slots`), so changing it
 * needs no rebuild.
 */
export interface LowRankBranch {
  down: string;
  up: string;
  scale: number;
  slot: number;
  slots: number;
}

export type ComputeType = 'float32' | 'float16';

export interface BuilderOptions {
  /** Graph name, stored in the model. */
  name: string;
  /** Activation and weight type inside the graph; float graph inputs/outputs stay float32. */
  compute?: ComputeType;
}

export interface NodeSpec {
  opType: string;
  inputs: Array<Value | null>;
  domain?: string;
  attributes?: Record<string, AttributeValue | undefined>;
  /** Output shapes and dtypes (checked by the op before calling). */
  outputs: Array<{ shape: Shape; dtype: DType }>;
  scope: string;
}

export class BuildError extends Error {}

export const OPSETS = { '': 21, 'com.microsoft': 1 };

export class GraphBuilder {
  readonly compute: ComputeType;
  readonly name: string;
  private readonly nodes: NodeData[] = [];
  private readonly initializers = new Map<string, TensorData>();
  private readonly weightValues = new Map<string, Value>();
  private readonly inputs: ModelData['inputs'] = [];
  private readonly outputs: ModelData['outputs'] = [];
  private readonly usedNames = new Set<string>();
  private readonly files = new Set<string>();
  /** For each symbolic dim, one value/axis holding it at run time (used to build Reshape targets). */
  readonly dimSources = new Map<string, { value: Value; axis: number }>();
  /** Cache of small int64 constants and per-dim Shape nodes, keyed by content. */
  readonly memo = new Map<string, Value>();

  constructor(options: BuilderOptions) {
    this.name = options.name;
    this.compute = options.compute ?? 'float32';
  }

  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  private makeValue(name: string, shape: Shape, dtype: DType, scope: string): Value {
    const value: Value = { name, shape: [...shape], dtype, graph: this, scope };
    shape.forEach((d, axis) => {
      if (typeof d === 'string' && !this.dimSources.has(d)) this.dimSources.set(d, { value, axis });
    });
    return value;
  }

  /** Adds one node; returns its output values. Ops call this after their own shape checks. */
  addNode(spec: NodeSpec): Value[] {
    const nodeName = this.uniqueName(`${spec.scope}/${spec.opType}`);
    const outs = spec.outputs.map((o, i) => this.makeValue(`${nodeName}:${i}`, o.shape, o.dtype, spec.scope));
    this.nodes.push({
      name: nodeName,
      opType: spec.opType,
      domain: spec.domain,
      inputs: spec.inputs.map((v) => (v ? v.name : '')),
      outputs: outs.map((v) => v.name),
      attributes: spec.attributes,
    });
    return outs;
  }

  /**
   * A graph input. Float inputs arrive as float32 and are cast to the compute type, unless `keepFloat32`
   * (values that need float32 precision whatever the compute type, e.g. a timestep fed to sin/cos).
   */
  input(name: string, dtype: DType, shape: Shape, options: { keepFloat32?: boolean } = {}): Value {
    if (this.usedNames.has(name)) throw new BuildError(`graph ${this.name}: input name '${name}' used twice`);
    this.usedNames.add(name);
    this.inputs.push({ name, dtype, dims: shape });
    const v = this.makeValue(name, shape, dtype, name);
    if (dtype === 'float32' && this.compute !== 'float32' && !options.keepFloat32) return this.cast(v, this.compute);
    return v;
  }

  /** Marks a value as a graph output; floats are returned as float32. */
  output(value: Value, name: string): void {
    let v = value;
    if ((v.dtype === 'float16' || v.dtype === 'bfloat16') && this.compute !== 'float32') v = this.cast(v, 'float32');
    const [out] = this.addNode({
      opType: 'Identity', inputs: [v], outputs: [{ shape: v.shape, dtype: v.dtype }], scope: `output.${name}`,
    });
    // Rename the Identity's output to the public name.
    const node = this.nodes[this.nodes.length - 1];
    if (this.usedNames.has(name)) throw new BuildError(`graph ${this.name}: output name '${name}' used twice`);
    this.usedNames.add(name);
    node.outputs[0] = name;
    this.outputs.push({ name, dtype: out.dtype, dims: out.shape.map((d) => (typeof d === 'number' || /^[A-Za-z_]\w*$/.test(d) ? d : undefined)) });
  }

  cast(v: Value, dtype: DType): Value {
    if (v.dtype === dtype) return v;
    return this.addNode({
      opType: 'Cast', inputs: [v], attributes: { to: ONNX_DTYPE[dtype] }, outputs: [{ shape: v.shape, dtype }], scope: v.scope,
    })[0];
  }

  /** An embedded constant (small tensors only: shapes, scales, masks). */
  constant(dtype: DType, dims: readonly number[], bytes: Uint8Array, scope = 'const'): Value {
    const name = this.uniqueName(`${scope}/const`);
    this.initializers.set(name, { name, dtype, dims, data: bytes });
    return this.makeValue(name, dims, dtype, scope);
  }

  /** A checkpoint weight as an external initializer, cast to the compute type when it differs. */
  weight(source: WeightSource, weightName: string, initName: string, scope: string): Value {
    const known = this.weightValues.get(initName);
    if (known) return known;
    const ref = source.weight(weightName);
    if (ref.dtype !== 'float32' && ref.dtype !== 'float16' && ref.dtype !== 'bfloat16') {
      throw new BuildError(
        `weight '${weightName}' has dtype ${ref.dtype}; a floating type (F32, F16 or BF16) is needed. ` +
          `The checkpoint file ${ref.file} is not a usable Stable Diffusion checkpoint.`,
      );
    }
    this.usedNames.add(initName);
    this.initializers.set(initName, {
      name: initName, dtype: ref.dtype, dims: ref.shape,
      // Absolute path for now; saveModel() rewrites it relative to the external-data folder.
      data: { location: ref.file, offset: ref.offset, length: ref.length },
    });
    this.files.add(ref.file);
    let v = this.makeValue(initName, ref.shape, ref.dtype, scope);
    if (v.dtype !== this.compute) v = this.cast(v, this.compute);
    this.weightValues.set(initName, v);
    return v;
  }

  /** Absolute paths of the files external initializers point into. */
  externalFiles(): string[] {
    return [...this.files];
  }

  toModelData(metadata?: Record<string, string>): ModelData {
    if (this.outputs.length === 0) throw new BuildError(`graph ${this.name} has no outputs`);
    return {
      nodes: this.nodes, initializers: [...this.initializers.values()], inputs: this.inputs, outputs: this.outputs,
      graphName: this.name, opsets: OPSETS, producer: 'invgraph', metadata,
    };
  }

}

/** A module path inside a network, e.g. `down_blocks.1.resnets.0`; reads weights below that path. */
export class Module {
  constructor(
    readonly graph: GraphBuilder,
    readonly source: WeightSource,
    readonly path: string,
    /** Prepended to initializer and node names, keeping two networks in one graph apart. */
    readonly namePrefix = '',
  ) {}

  at(child: string | number): Module {
    const path = this.path === '' ? String(child) : `${this.path}.${child}`;
    return new Module(this.graph, this.source, path, this.namePrefix);
  }

  get scope(): string {
    return this.namePrefix + this.path;
  }

  param(name: string): Value {
    const full = this.path === '' ? name : `${this.path}.${name}`;
    // Combined weights (merges) may combine combined weights (a merge of merges).
    const load = (source: WeightSource, weightName: string, initName: string): Value =>
      source.combine?.(weightName, (s, n, tag) => load(s, n, `${initName}#${tag}`)) ?? this.graph.weight(source, weightName, initName, this.scope);
    return load(this.source, full, this.namePrefix + full);
  }

  hasParam(name: string): boolean {
    return this.source.has(this.path === '' ? name : `${this.path}.${name}`);
  }
}

export function shapeError(node: string, what: string, a: Shape, b: Shape): BuildError {
  return new BuildError(`${node}: ${what}: ${formatShape(a)} vs ${formatShape(b)}`);
}

export type { Dim, Shape };
