// Hypernetworks inside the UNet graph, as ComfyUI's attn1/attn2 patches apply them: before an attention projects
// its context to keys and values, each hypernetwork with an MLP pair for the context's width rewrites
//   key input   k ← k + MLP_key(k)·strength,   value input   v ← v + MLP_value(v)·strength
// (self-attention: the context is the block's own tokens, width 320/640/1280; cross-attention: the text, 768).
// Several hypernetworks chain in order. Strengths are graph inputs (hypernetwork-io.ts): one graph per set of
// files serves every strength, and strength 0 gives the plain UNet's values (x + 0·m = x for finite m).
import { Module, linear, layerNorm, add, mul, unary } from '../../onnx/index.ts';
import type { GraphBuilder, Value } from '../../onnx/index.ts';
import { defineGraphPatch } from '../unet/graph-patch.ts';
import type { KeyValueInputs } from '../unet/unet-layers.ts';
import { openHypernetwork } from './hypernetwork-file.ts';
import type { Hypernetwork, HypernetworkActivation, HypernetworkLayer } from './hypernetwork-file.ts';
import { HYPERNETWORK_INPUT } from './hypernetwork-io.ts';

const LAYER_NORM_EPS = 1e-5; // torch.nn.LayerNorm's default

/** UnetVariant `hypernetwork`: the files, in the order they apply. */
export interface HypernetworkVariant {
  nets: Array<{ path: string }>;
}

function op(x: Value, opType: string, attributes: Record<string, { float: number }> = {}): Value {
  return x.graph.addNode({ opType, inputs: [x], attributes, outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope })[0];
}

/** The torch modules ComfyUI maps activation_func to. */
function activate(x: Value, activation: HypernetworkActivation): Value {
  switch (activation) {
    case 'linear': return x;
    case 'relu': return op(x, 'Relu');
    case 'leakyrelu': return op(x, 'LeakyRelu', { alpha: { float: 0.01 } });
    case 'elu': return op(x, 'Elu', { alpha: { float: 1 } });
    case 'swish': return op(x, 'HardSwish'); // torch.nn.Hardswish: x·relu6(x+3)/6
    case 'tanh': return unary('Tanh', x);
    case 'sigmoid': return unary('Sigmoid', x);
    case 'softsign': return op(x, 'Softsign');
    case 'mish': return mul(x, unary('Tanh', op(x, 'Softplus')));
  }
}

/** One MLP on x [B,T,C] → [B,T,C]. */
export function hypernetworkMlp(g: GraphBuilder, net: Hypernetwork, layers: readonly HypernetworkLayer[], x: Value, namePrefix: string): Value {
  let h = x;
  for (const layer of layers) {
    const m = new Module(g, net.weights, layer.name, namePrefix);
    if (layer.kind === 'linear') h = layer.activation ? activate(linear(m, h), net.activation) : linear(m, h);
    else h = layerNorm(m, h, { eps: LAYER_NORM_EPS });
  }
  return h;
}

export const hypernetworkGraphPatch = defineGraphPatch({
  name: 'hypernetwork',
  fingerprints: (spec: HypernetworkVariant) => spec.nets.map((n) => openHypernetwork(n.path).fingerprint),
  build(g, _config, spec) {
    const nets = spec.nets.map((n, i) => ({
      net: openHypernetwork(n.path),
      strength: g.input(HYPERNETWORK_INPUT.strength(i), 'float32', [1]),
      prefix: `hypernetwork.${i}/`,
    }));
    // The nets that have an MLP pair for this context width, chained.
    const rewrite = (inputs: KeyValueInputs): KeyValueInputs => nets.reduce((kv, { net, strength, prefix }) => {
      const width = kv.key.shape[kv.key.shape.length - 1] as number;
      const mlps = net.widths.get(width);
      if (!mlps) return kv;
      return {
        key: add(kv.key, mul(hypernetworkMlp(g, net, mlps.key, kv.key, prefix), strength)),
        value: add(kv.value, mul(hypernetworkMlp(g, net, mlps.value, kv.value, prefix), strength)),
      };
    }, inputs);
    return { block: () => ({ selfKeyValue: rewrite, crossKeyValue: rewrite }) };
  },
});
