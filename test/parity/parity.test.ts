// Numerical parity with the reference implementation (diffusers/PyTorch goldens in test/fixtures/sd15-tiny),
// through the same code path users take. Tolerance: max|a−b| ≤ 1e-4·(1+max|ref|) per float tensor
// (float32 kernels sum in other orders); token ids and timesteps exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runParity, writeParityOutput } from '../../cli/parity/run-parity.ts';
import { openSafetensors } from '../../engine/onnx/index.ts';

const FIXTURE = new URL('../fixtures/sd15-tiny', import.meta.url).pathname;

test('every recomputed golden tensor of sd15-tiny is within tolerance', async () => {
  const log = await runParity(FIXTURE);
  const failures = log.failed.map((r) => `${r.key}: max abs ${r.max_abs_error} > ${r.tolerance} ${r.note ?? ''}`);
  assert.deepEqual(failures, []);
  const compared = new Set(log.reports.map((r) => r.key));
  // The headline tensors of each fixture file must really have been compared, not skipped.
  for (const key of [
    'tokenizer/input_ids', 'text_encoder/last_hidden_state', 'text_encoder/penultimate_hidden_state_final_ln',
    'text_encoder/pooled_output', 'text_encoder/empty_last_hidden_state', 'vae/latent_mean', 'vae/latent_logvar',
    'vae/decoder_output', 'unet/out', 'unet/features.down_blocks.0.attentions.0.self', 'unet/features.up_blocks.3.attentions.2.cross',
    'unet/features.mid_block.attentions.0.cross', 'pipeline/latents', 'pipeline/image', 'pipeline/inversion_latents',
    'eaa/reference_input_ids', 'eaa/reference_encoder_hidden_states', 'eaa/features.down_blocks.0.attentions.0.self',
    'eaa/features.mid_block.attentions.0.cross', 'eaa/out_self_cross', 'eaa/out_self_only', 'eaa/out_cross_only',
    'eaa/out_sigma0', 'eaa/out_plain',
  ]) assert.ok(compared.has(key), `${key} was not compared`);
  const features = [...compared].filter((k) => k.startsWith('unet/features.'));
  assert.equal(features.length, 32, 'self and cross inputs of all 16 transformer blocks');
});

test('the parity output file holds the recomputed tensors under <stem>/<key>', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-parity-out-'));
  try {
    const log = await runParity(FIXTURE, { sections: ['tokenizer', 'unet'] });
    const path = join(dir, 'out.safetensors');
    writeParityOutput(path, log);
    const file = openSafetensors(path);
    assert.deepEqual(file.tensors.get('tokenizer/input_ids')?.shape, [12, 77]);
    assert.equal(file.tensors.get('tokenizer/input_ids')?.dtype, 'I64');
    assert.deepEqual(file.tensors.get('unet/out')?.shape, [2, 4, 8, 8]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
