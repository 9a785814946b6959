// VAELoader: ComfyUI's inputs, models/vae listing (.safetensors / .pt / .ckpt), and its VAE replacing the
// checkpoint's in VAEDecode: an extracted copy decodes identically, a perturbed one differently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VAELoader, listVaes } from './vae-loader.ts';
import { VAEDecode } from './latent.ts';
import { createTestContext } from './test-context.ts';
import { SdRuntime, openCheckpoint } from '../engine/sd/index.ts';
import type { SdVae } from '../engine/sd/index.ts';
import { openSafetensors } from '../engine/onnx/index.ts';
import { tempDir, noise } from '../engine/onnx/test-helpers.ts';
import { FIXTURE_CHECKPOINT } from '../engine/sd/test-fixture.ts';
import { writeTorchCheckpoint } from '../engine/sd/checkpoint/test-torch-file.ts';
import type { TorchTensorToWrite } from '../engine/sd/checkpoint/test-torch-file.ts';

function fixtureVae(perturb: boolean): Record<string, TorchTensorToWrite> {
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  const out: Record<string, TorchTensorToWrite> = {};
  for (const [key, info] of src.tensors) {
    if (!key.startsWith('first_stage_model.')) continue;
    const name = key.slice('first_stage_model.'.length);
    let data: ArrayBufferView = src.readBytes(key);
    if (perturb && name === 'post_quant_conv.bias') data = src.read(key).map((x) => x + 0.3);
    out[name] = { dtype: 'F32', shape: info.shape, data };
  }
  return out;
}

test('VAELoader has ComfyUI\'s input and output', () => {
  assert.deepEqual(Object.keys(VAELoader.inputs.required), ['vae_name']);
  assert.deepEqual(VAELoader.outputs.map((o) => o.type), ['VAE']);
  assert.equal(VAELoader.category, 'loaders');
});

test('VAELoader lists models/vae and its VAE replaces the checkpoint\'s in VAEDecode', async () => {
  const sd = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  const t = await createTestContext({ services: { sd } });
  try {
    const folder = join(t.folders.models, 'vae');
    await mkdir(join(folder, 'sd15'), { recursive: true });
    writeTorchCheckpoint(join(folder, 'vae-ft-mse-840000-ema-pruned.ckpt'), fixtureVae(false), 'state_dict');
    writeTorchCheckpoint(join(folder, 'sd15', 'perturbed.pt'), fixtureVae(true));
    assert.deepEqual(listVaes(t.env), ['sd15/perturbed.pt', 'vae-ft-mse-840000-ema-pruned.ckpt']);
    const samples = { samples: { dims: [1, 4, 4, 4], data: noise(64, 3) } };
    const decodeWith = async (vae: SdVae) => ((await VAEDecode.run({ samples, vae }, t.ctx)).outputs[0] as { data: Float32Array }).data;
    const reference = await decodeWith({ checkpoint: openCheckpoint(FIXTURE_CHECKPOINT) });
    const load = async (name: string) => (await VAELoader.run({ vae_name: name }, t.ctx)).outputs[0] as SdVae;
    assert.deepEqual([...await decodeWith(await load('vae-ft-mse-840000-ema-pruned.ckpt'))], [...reference]);
    const perturbed = await decodeWith(await load('sd15/perturbed.pt'));
    assert.ok(perturbed.some((x, i) => Math.abs(x - reference[i]) > 1e-3), 'a different VAE decodes differently');
    await assert.rejects(async () => VAELoader.run({ vae_name: 'missing.safetensors' }, t.ctx), /not found/);
  } finally {
    await t.dispose();
    await sd.release();
  }
});
