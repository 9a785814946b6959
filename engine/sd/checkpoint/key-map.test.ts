// The diffusers → LDM name table: spot checks from sd15-reference.md §2.2, and completeness: building
// the CLIP and VAE graphs reads every CLIP/VAE tensor of the fixture checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSafetensors } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/index.ts';
import { unetLdmKeys, vaeLdmKeys, clipLdmKeys, vaeLegacyDiffusersKeys } from './key-map.ts';
import { openCheckpoint } from './checkpoint.ts';
import { buildClipTextGraph } from '../clip/clip-text.ts';
import { buildVaeEncoderGraph, buildVaeDecoderGraph } from '../vae/vae.ts';
import { FIXTURE_CHECKPOINT } from '../test-fixture.ts';

test('UNet names follow the reference table', () => {
  const cases: Array<[string, string[]]> = [
    ['time_embedding.linear_2.bias', ['time_embed.2.bias']],
    ['conv_in.weight', ['input_blocks.0.0.weight']],
    ['down_blocks.0.resnets.1.norm1.weight', ['input_blocks.2.0.in_layers.0.weight']],
    ['down_blocks.1.resnets.0.conv_shortcut.weight', ['input_blocks.4.0.skip_connection.weight']],
    ['down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight', ['input_blocks.5.1.transformer_blocks.0.attn2.to_k.weight']],
    ['down_blocks.2.downsamplers.0.conv.weight', ['input_blocks.9.0.op.weight']],
    ['down_blocks.3.resnets.1.time_emb_proj.weight', ['input_blocks.11.0.emb_layers.1.weight']],
    ['mid_block.resnets.1.conv2.bias', ['middle_block.2.out_layers.3.bias']],
    ['mid_block.attentions.0.proj_out.weight', ['middle_block.1.proj_out.weight']],
    ['up_blocks.0.resnets.2.norm2.weight', ['output_blocks.2.0.out_layers.0.weight']],
    ['up_blocks.0.upsamplers.0.conv.weight', ['output_blocks.2.2.conv.weight', 'output_blocks.2.1.conv.weight']],
    ['up_blocks.3.attentions.2.norm.weight', ['output_blocks.11.1.norm.weight']],
    ['conv_norm_out.bias', ['out.0.bias']],
    ['conv_out.weight', ['out.2.weight']],
  ];
  for (const [name, ldm] of cases) assert.deepEqual(unetLdmKeys(name), ldm.map((k) => `model.diffusion_model.${k}`), name);
});

test('VAE and CLIP names follow the reference table', () => {
  assert.deepEqual(vaeLdmKeys('decoder.up_blocks.0.resnets.2.conv1.weight', 4), ['first_stage_model.decoder.up.3.block.2.conv1.weight']);
  assert.deepEqual(vaeLdmKeys('decoder.up_blocks.2.upsamplers.0.conv.bias', 4), ['first_stage_model.decoder.up.1.upsample.conv.bias']);
  assert.deepEqual(vaeLdmKeys('encoder.down_blocks.1.resnets.0.conv_shortcut.weight', 4), ['first_stage_model.encoder.down.1.block.0.nin_shortcut.weight']);
  assert.deepEqual(vaeLdmKeys('encoder.mid_block.attentions.0.to_out.0.weight', 4), ['first_stage_model.encoder.mid.attn_1.proj_out.weight']);
  assert.deepEqual(vaeLdmKeys('decoder.mid_block.resnets.1.norm2.weight', 4), ['first_stage_model.decoder.mid.block_2.norm2.weight']);
  assert.deepEqual(vaeLdmKeys('encoder.conv_norm_out.weight', 4), ['first_stage_model.encoder.norm_out.weight']);
  assert.deepEqual(vaeLegacyDiffusersKeys('decoder.mid_block.attentions.0.to_q.bias'), ['decoder.mid_block.attentions.0.to_q.bias', 'decoder.mid_block.attentions.0.query.bias']);
  assert.deepEqual(clipLdmKeys('text_model.final_layer_norm.weight'), [
    'cond_stage_model.transformer.text_model.final_layer_norm.weight', 'cond_stage_model.transformer.final_layer_norm.weight']);
});

test('building the CLIP and VAE graphs reads every CLIP and VAE tensor of the fixture', () => {
  const file = openSafetensors(FIXTURE_CHECKPOINT);
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const byOffset = new Map([...file.tensors.values()].map((t) => [t.offset, t.name]));
  const read = new Set<string>();
  const recording = (source: WeightSource): WeightSource => ({
    has: (n) => source.has(n),
    weight: (n) => { const ref = source.weight(n); read.add(byOffset.get(ref.offset)!); return ref; },
  });
  const recorded = { ...checkpoint, vae: recording(checkpoint.vae), textEncoder: recording(checkpoint.textEncoder) };
  buildClipTextGraph(recorded);
  buildVaeEncoderGraph(recorded);
  buildVaeDecoderGraph(recorded);
  const expected = [...file.tensors.keys()].filter((k) =>
    (k.startsWith('first_stage_model.') || k.startsWith('cond_stage_model.')) && !k.endsWith('position_ids'));
  assert.deepEqual(expected.filter((k) => !read.has(k)), []);
});
