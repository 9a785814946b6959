// Demo data: writes models/loras/invgraph-demo-lora.safetensors, a small kohya-format LoRA (lora_unet_* /
// lora_te_*, lora_down / lora_up / alpha) for the demo checkpoint: rank 4 on every transformer linear layer of the
// UNet and on the text encoder's attention projections, seeded values. Like the demo checkpoint it is random (its
// effect is noise) but it runs LoraLoader on a fresh clone; `npm test` checks the committed file is this output.
// Usage: node --import tsx models/generate-demo-lora.ts [--out PATH]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../engine/onnx/index.ts';
import type { TensorToWrite } from '../engine/onnx/index.ts';
import { openCheckpoint } from '../engine/sd/index.ts';

export const DEMO_CHECKPOINT = fileURLToPath(new URL('./checkpoints/invgraph-demo-tiny.safetensors', import.meta.url));
export const DEMO_LORA = fileURLToPath(new URL('./loras/invgraph-demo-lora.safetensors', import.meta.url));
const RANK = 4;

/** Deterministic values in [-0.05, 0.05) (a sine hash: the same on every machine). */
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (Math.abs(Math.sin(seed * 7919 + i * 12.9898) * 43758.5453) % 1 - 0.5) * 0.1);
}

export function demoLoraTensors(checkpointPath = DEMO_CHECKPOINT): Record<string, TensorToWrite> {
  const checkpoint = openCheckpoint(checkpointPath);
  const names: Array<['unet' | 'textEncoder', string]> = [];
  const blocks = [...[0, 1, 2, 3].flatMap((i) => [0, 1].map((j) => `down_blocks.${i}.attentions.${j}`)), 'mid_block.attentions.0',
    ...[0, 1, 2, 3].flatMap((i) => [0, 1, 2].map((j) => `up_blocks.${i}.attentions.${j}`))];
  for (const b of blocks) {
    for (const leaf of [...['attn1', 'attn2'].flatMap((a) => ['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => `${a}.${p}`)), 'ff.net.0.proj', 'ff.net.2']) {
      const name = `${b}.transformer_blocks.0.${leaf}.weight`;
      if (checkpoint.unet.has(name)) names.push(['unet', name]);
    }
  }
  for (let l = 0; l < checkpoint.config.clip.layers; l++) {
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) names.push(['textEncoder', `text_model.encoder.layers.${l}.self_attn.${p}.weight`]);
  }
  const tensors: Record<string, TensorToWrite> = {};
  names.forEach(([net, name], i) => {
    const [out, inp] = checkpoint[net].weight(name).shape;
    const key = `${net === 'unet' ? 'lora_unet_' : 'lora_te_'}${name.replace(/\.weight$/, '').replaceAll('.', '_')}`;
    tensors[`${key}.lora_down.weight`] = { dtype: 'F32', shape: [RANK, inp], data: values(RANK * inp, 2 * i + 1) };
    tensors[`${key}.lora_up.weight`] = { dtype: 'F32', shape: [out, RANK], data: values(out * RANK, 2 * i + 2) };
    tensors[`${key}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(RANK) };
  });
  return tensors;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: opts } = parseArgs({ options: { out: { type: 'string', default: DEMO_LORA } } });
  writeSafetensors(opts.out!, demoLoraTensors(), { generator: 'invgraph demo LoRA (models/generate-demo-lora.ts)' });
  console.log(JSON.stringify({ out: opts.out }));
}
