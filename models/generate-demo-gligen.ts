// Demo data: writes models/gligen/invgraph-demo-gligen.safetensors, a GLIGEN textbox model for the demo checkpoint
// with ComfyUI's key layout (the one of gligen_sd14_textbox_pruned.safetensors): a gated self-attention
// "fuser" per UNet transformer block under its LDM name (`input_blocks.1.1.transformer_blocks.0.fuser.*`, …) and
// `position_net.*` with the sizes ComfyUI's PositionNet hard-codes (512 hidden, 768-wide tokens, so that
// load_gligen picks 8 heads), the text width being the demo CLIP's. Seeded values, stored as F16; like the demo
// checkpoint it is random (its effect is noise), with gates tanh(0.5) open so that the boxes visibly act.
// `npm test` checks the committed file is this output.
// Usage: node --import tsx models/generate-demo-gligen.ts [--out PATH]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSafetensors, toFloat16 } from '../engine/onnx/index.ts';
import type { TensorToWrite } from '../engine/onnx/index.ts';
import { openCheckpoint, transformerBlocks } from '../engine/sd/index.ts';
import { DEMO_CHECKPOINT } from './generate-demo-lora.ts';

export const DEMO_GLIGEN = fileURLToPath(new URL('./gligen/invgraph-demo-gligen.safetensors', import.meta.url));
const KEY_DIM = 768;
const HIDDEN = 512;
const POSITION_DIM = 64;

/** Deterministic values in [-scale/2, scale/2) (a sine hash: the same on every machine). */
function values(n: number, seed: number, scale = 0.1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => offset + (Math.abs(Math.sin(seed * 7919 + i * 12.9898) * 43758.5453) % 1 - 0.5) * scale);
}

/** LDM name of a diffusers transformer block (SD1.x layout: layersPerBlock resnets per level + a sampler). */
function ldmBlock(name: string, layersPerBlock: number): string {
  const down = /^down_blocks\.(\d+)\.attentions\.(\d+)$/.exec(name);
  if (down) return `input_blocks.${Number(down[1]) * (layersPerBlock + 1) + Number(down[2]) + 1}.1`;
  const up = /^up_blocks\.(\d+)\.attentions\.(\d+)$/.exec(name);
  if (up) return `output_blocks.${Number(up[1]) * (layersPerBlock + 1) + Number(up[2])}.1`;
  if (name === 'mid_block.attentions.0') return 'middle_block.1';
  throw new Error(`no LDM name for ${name}`);
}

export function demoGligenTensors(checkpointPath = DEMO_CHECKPOINT): Record<string, TensorToWrite> {
  const checkpoint = openCheckpoint(checkpointPath);
  const { unet, clip } = checkpoint.config;
  const tensors: Record<string, TensorToWrite> = {};
  let seed = 1;
  const put = (key: string, shape: number[], scale = 0.1, offset = 0) => {
    const data = shape.length === 0 ? Float32Array.of(offset) : values(shape.reduce((a, b) => a * b, 1), seed++, scale, offset);
    tensors[key] = { dtype: 'F16', shape, data: toFloat16(data) };
  };
  for (const block of transformerBlocks(unet)) {
    const c = block.width;
    const p = `${ldmBlock(block.name, unet.layersPerBlock)}.transformer_blocks.0.fuser`;
    put(`${p}.alpha_attn`, [], 0, 0.5);
    put(`${p}.alpha_dense`, [], 0, 0.5);
    put(`${p}.linear.weight`, [c, KEY_DIM], 0.1);
    put(`${p}.linear.bias`, [c]);
    for (const q of ['to_q', 'to_k', 'to_v', 'to_out.0']) put(`${p}.attn.${q}.weight`, [c, c], 0.4);
    put(`${p}.attn.to_out.0.bias`, [c]);
    put(`${p}.ff.net.0.proj.weight`, [8 * c, c], 0.4);
    put(`${p}.ff.net.0.proj.bias`, [8 * c]);
    put(`${p}.ff.net.2.weight`, [c, 4 * c], 0.2);
    put(`${p}.ff.net.2.bias`, [c]);
    for (const n of ['norm1', 'norm2']) {
      put(`${p}.${n}.weight`, [c], 0.1, 1);
      put(`${p}.${n}.bias`, [c]);
    }
  }
  put('position_net.null_positive_feature', [clip.hiddenSize], 1);
  put('position_net.null_position_feature', [POSITION_DIM], 1);
  put('position_net.linears.0.weight', [HIDDEN, clip.hiddenSize + POSITION_DIM], 0.2);
  put('position_net.linears.0.bias', [HIDDEN]);
  put('position_net.linears.2.weight', [HIDDEN, HIDDEN], 0.1);
  put('position_net.linears.2.bias', [HIDDEN]);
  put('position_net.linears.4.weight', [KEY_DIM, HIDDEN], 0.1);
  put('position_net.linears.4.bias', [KEY_DIM]);
  return tensors;
}

export const DEMO_GLIGEN_METADATA = { generator: 'invgraph demo GLIGEN (models/generate-demo-gligen.ts)' };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: opts } = parseArgs({ options: { out: { type: 'string', default: DEMO_GLIGEN } } });
  writeSafetensors(opts.out!, demoGligenTensors(), DEMO_GLIGEN_METADATA);
  console.log(JSON.stringify({ out: opts.out }));
}
