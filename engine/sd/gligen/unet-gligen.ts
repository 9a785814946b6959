// GLIGEN inside the UNet graph: after each transformer block's self-attention residual (ComfyUI's
// "middle_patch"), the block's gated self-attention "fuser" (comfy/gligen.py GatedSelfAttentionDense):
//   o = linear(objs);  x += tanh(α_attn)·attn(norm1([x; o]))[:N];  x += tanh(α_dense)·ff(norm2(x))
// Inputs: `gligen.objs` [B,MAX_OBJECTS,keyDim], the grounding tokens per row (position-net.ts), and
// `gligen.gate` [B], 1 on rows whose conditioning has GLIGEN boxes, 0 on the others: 0 leaves the row exactly
// as the plain UNet computes it (x + 0·r = x for finite r), as ComfyUI runs such rows without the patch.
import { Module, linear, layerNorm, gelu, attention, add, mul, reshape, split, concat, unary, checkpointFingerprint } from '../../onnx/index.ts';
import type { GraphBuilder, Value } from '../../onnx/index.ts';
import { MAX_OBJECTS, openGligen, checkGligenFits, type GligenFuser, type GligenModel } from './gligen-file.ts';
import { defineGraphPatch } from '../unet/graph-patch.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';
import { GLIGEN_INPUT } from './gligen-io.ts';


const LAYER_NORM_EPS = 1e-5; // torch.nn.LayerNorm's default, which the fusers use

/** The graph inputs every fuser reads, declared once per graph. */
export interface GligenInputs {
  objs: Value;
  /** [B,1,1] */
  gate: Value;
}

export function gligenInputs(g: GraphBuilder, gligen: GligenModel): GligenInputs {
  const objs = g.input(GLIGEN_INPUT.objs, 'float32', ['B', MAX_OBJECTS, gligen.keyDim]);
  const gate = g.input(GLIGEN_INPUT.gate, 'float32', ['B']);
  return { objs, gate: reshape(gate, [gate.shape[0], 1, 1]) };
}

/** GEGLU feed-forward: proj to 2×4C, first half × GELU(second half), then 4C → C. */
function feedForward(m: Module, x: Value): Value {
  const proj = linear(m.at('net.0.proj'), x);
  const inner = (proj.shape[2] as number) / 2;
  const [hidden, gateHalf] = split(proj, 2, [inner, inner]);
  return linear(m.at('net.2'), mul(hidden, gelu(gateHalf)));
}

/** One fuser on the block's hidden states x [B,N,C] → [B,N,C]. */
export function gatedSelfAttention(m: Module, x: Value, inputs: GligenInputs, fuser: GligenFuser): Value {
  const norm = { eps: LAYER_NORM_EPS };
  const objs = linear(m.at('linear'), inputs.objs); // [B,30,C]
  // norm1 acts token by token, so norm1([x; o]) = [norm1(x); norm1(o)]; only the visual tokens' outputs are
  // kept ([:N]), so only they need queries.
  const visual = layerNorm(m.at('norm1'), x, norm);
  const joint = concat([visual, layerNorm(m.at('norm1'), objs, norm)], 1, `${m.path}.tokens`); // [B,N+30,C]
  const attn = m.at('attn');
  const attended = attention(linear(attn.at('to_q'), visual), linear(attn.at('to_k'), joint), linear(attn.at('to_v'), joint), { heads: fuser.heads });
  const h = add(x, mul(mul(inputs.gate, unary('Tanh', m.param('alpha_attn'))), linear(attn.at('to_out.0'), attended)));
  const dense = feedForward(m.at('ff'), layerNorm(m.at('norm2'), h, norm));
  return add(h, mul(mul(inputs.gate, unary('Tanh', m.param('alpha_dense'))), dense));
}

/** The afterSelfAttention hook of the transformer block with execution index `index`. */
export function gligenBlockHook(g: GraphBuilder, gligen: GligenModel, inputs: GligenInputs, index: number): (hidden: Value) => Value {
  const fuser = gligen.fusers[index];
  const m = new Module(g, gligen.source, fuser.prefix, 'gligen/');
  return (hidden) => gatedSelfAttention(m, hidden, inputs, fuser);
}

/** UnetVariant `gligen`: GLIGEN's gated self-attention in every transformer block (inputs: see the header). */
export interface GligenVariant {
  /** The GLIGEN file; its fuser weights are read in place as external data. */
  path: string;
}

export const gligenGraphPatch = defineGraphPatch({
  name: 'gligen',
  check: (config, spec: GligenVariant) => checkGligenFits(openGligen(spec.path), config),
  fingerprints: (spec) => [checkpointFingerprint(openTensorFile(spec.path))],
  build(g, config, spec) {
    const gligen = openGligen(spec.path);
    const inputs = gligenInputs(g, gligen);
    const blocks = transformerBlocks(config).map((b) => b.name);
    return { block: (block) => ({ afterSelfAttention: gligenBlockHook(g, gligen, inputs, blocks.indexOf(block)) }) };
  },
});
