// Inv-Adapter nodes on the tiny model: DDIMInvert → ExtractDiffusionFeatures → Save/LoadDiffusionFeatures round
// trip, InvAdapterLoader (training-free and file, with its COMBO), EAAInject, and the clear errors of each.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  invAdapterNodes, DDIMInvert, ExtractDiffusionFeatures, SaveDiffusionFeatures, LoadDiffusionFeatures, InvAdapterLoader, EAAInject,
  listFeatureBanks,
} from './inv-adapter.ts';
import { createTestContext } from './test-context.ts';
import type { TestContext } from './test-context.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import { SdRuntime, eaaPatch, eaaOf } from '../engine/sd/index.ts';
import type { Conditioning, FeatureBank, InvAdapter, Inversion, SdModel } from '../engine/sd/index.ts';
import { openSafetensors } from '../engine/onnx/index.ts';

const FIXTURE = fileURLToPath(new URL('../test/fixtures/sd15-tiny/', import.meta.url));
const cacheDir = mkdtempSync(join(tmpdir(), 'invgraph-inv-nodes-'));
const runtime = new SdRuntime({ cacheDir, device: 'cpu', threads: 1 });
after(async () => {
  await runtime.release();
  rmSync(cacheDir, { recursive: true, force: true });
});
const model: SdModel = { checkpoint: runtime.checkpoint(join(FIXTURE, 'checkpoint.safetensors')) };
const caption: Conditioning = [{ embeds: { dims: [1, 77, 32], data: openSafetensors(join(FIXTURE, 'eaa.safetensors')).read('reference_encoder_hidden_states') } }];

async function withContext(body: (t: TestContext) => Promise<void>): Promise<void> {
  const context = await createTestContext({ services: { sd: runtime } });
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}

test('the family: names, category, outputs; EAAInject inputs as the design lists them', () => {
  assert.deepEqual(invAdapterNodes.map((n) => [n.name, n.category, n.outputs.map((o) => o.type).join(',')]), [
    ['DDIMInvert', 'inv-adapter', 'INVERSION'],
    ['ExtractDiffusionFeatures', 'inv-adapter', 'DIFFUSION_FEATURES'],
    ['SaveDiffusionFeatures', 'inv-adapter', ''],
    ['LoadDiffusionFeatures', 'inv-adapter', 'DIFFUSION_FEATURES'],
    ['InvAdapterLoader', 'inv-adapter', 'INV_ADAPTER'],
    ['EAAInject', 'inv-adapter', 'MODEL'],
  ]);
  assert.equal(SaveDiffusionFeatures.outputNode, true);
  assert.deepEqual(Object.keys(EAAInject.inputs.required), ['model', 'inv_adapter', 'features', 'weight', 'start_at', 'end_at', 'self_attention', 'cross_attention', 'apply_to_uncond']);
  assert.deepEqual(DDIMInvert.inputs.required.steps, { ...DDIMInvert.inputs.required.steps, default: 50, min: 1, max: 999 });
});

test('invert → extract → save → load serves the same bank; the adapter loaders and EAAInject patch the model', async () => {
  await withContext(async (t) => {
    const image = makeImageBatch(1, 64, 64);
    image.data.fill(0.4);
    const progress: number[] = [];
    t.ctx.progress = (value) => progress.push(value);
    const inversion = (await DDIMInvert.run({ model, vae: { checkpoint: model.checkpoint }, image, caption, steps: 3 }, t.ctx)).outputs[0] as Inversion;
    assert.deepEqual(progress, [1, 2, 3]);
    const features = (await ExtractDiffusionFeatures.run({ model, inversion, caption }, t.ctx)).outputs[0] as FeatureBank;
    assert.ok(features.path.startsWith(join(t.folders.temp, 'inv_features')));
    assert.deepEqual(features.timesteps, [667, 334, 1]);

    const saved = await SaveDiffusionFeatures.run({ features, filename_prefix: 'face' }, t.ctx);
    assert.deepEqual(saved.ui, { inv_features: [{ filename: 'face_00001_.safetensors', subfolder: 'inv_features', type: 'output' }] });
    assert.deepEqual(listFeatureBanks(t.env), ['face_00001_.safetensors [output]']);
    const loaded = (await LoadDiffusionFeatures.run({ features_name: 'face_00001_.safetensors [output]' }, t.ctx)).outputs[0] as FeatureBank;
    assert.deepEqual({ ...loaded, path: '' }, { ...features, path: '' });

    const free = (await InvAdapterLoader.run({ adapter_name: 'training-free', model, tokens: 16, reference_size: 64 }, t.ctx)).outputs[0] as InvAdapter;
    await mkdir(join(t.folders.models, 'inv_adapter'), { recursive: true });
    await copyFile(join(FIXTURE, 'eaa_adapter.safetensors'), join(t.folders.models, 'inv_adapter', 'random.safetensors'));
    const combo = InvAdapterLoader.inputs.required.adapter_name.options;
    assert.deepEqual(typeof combo === 'function' ? combo(t.env) : combo, ['training-free', 'random.safetensors']);
    const file = (await InvAdapterLoader.run({ adapter_name: 'random.safetensors', model, tokens: 256, reference_size: 512 }, t.ctx)).outputs[0] as InvAdapter;
    assert.ok(file.mode === 'trained' && file.tokens === 16);
    assert.equal(free.mode, 'reference');

    for (const adapter of [free, file]) {
      const patched = (await EAAInject.run({
        model, inv_adapter: adapter, features: loaded, weight: 0.8, start_at: 0, end_at: 1, self_attention: true, cross_attention: true, apply_to_uncond: true,
      }, t.ctx)).outputs[0] as SdModel;
      assert.equal(eaaOf(patched)?.weight, 0.8);
      assert.deepEqual(eaaPatch(patched)?.variant, { eaa: adapter.mode === 'trained' ? { adapterPath: adapter.path } : {} });
    }
    // Training-free reference attention takes any reference size (the unused reference_size changes nothing).
    const any = (await InvAdapterLoader.run({ adapter_name: 'training-free', model, tokens: 200, reference_size: 512 }, t.ctx)).outputs[0] as InvAdapter;
    assert.ok((await EAAInject.run({
      model, inv_adapter: any, features: loaded, weight: 1, start_at: 0, end_at: 1, self_attention: true, cross_attention: true, apply_to_uncond: true,
    }, t.ctx)).outputs[0]);
  });
});

test('LoadDiffusionFeatures refuses files that are not banks; a missing adapter file is refused', async () => {
  await withContext(async (t) => {
    await mkdir(join(t.folders.models, 'inv_features'), { recursive: true });
    await copyFile(join(FIXTURE, 'eaa_adapter.safetensors'), join(t.folders.models, 'inv_features', 'adapter.safetensors'));
    assert.deepEqual(listFeatureBanks(t.env), ['adapter.safetensors']);
    assert.throws(() => LoadDiffusionFeatures.run({ features_name: 'adapter.safetensors' }, t.ctx), /is not a diffusion feature bank.*SaveDiffusionFeatures/);
    assert.throws(() => LoadDiffusionFeatures.run({ features_name: '../x.safetensors' }, t.ctx));
    assert.throws(() => InvAdapterLoader.run({ adapter_name: 'missing.safetensors', model, tokens: 256, reference_size: 512 }, t.ctx));
  });
});
