// The reference branch on the tiny model: VAE encode + DDIM inversion, then feature extraction written to a
// bank per step — every timestep present, the first step equal to a direct recordFeatures run at P_T, reuse of
// an identical bank, and an interrupted extraction leaving no file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeImageBatch } from '../../image/index.ts';
import { fromFloat16, toFloat16 } from '../../onnx/index.ts';
import { SdRuntime } from '../runtime.ts';
import { invertImage, extractFeatures, InvAdapterInputError } from './inv-adapter-pipeline.ts';
import { openFeatureBank, readFeatureStep, featureBankBytes } from './feature-bank.ts';
import { unetIdentity } from './inv-adapter-weights.ts';
import type { Conditioning, SdModel } from '../wire-types.ts';
import { FIXTURE_CHECKPOINT, goldens } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const runtime = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
after(() => runtime.release());
const checkpoint = runtime.checkpoint(FIXTURE_CHECKPOINT);
const model: SdModel = { checkpoint };
const caption: Conditioning = [{ embeds: goldens('eaa.safetensors')('reference_encoder_hidden_states') }];

function faceImage() {
  const image = makeImageBatch(1, 64, 64);
  image.data.set(noise(64 * 64 * 3, 5).map((v) => (v + 1) / 2));
  return image;
}

test('DDIMInvert + ExtractDiffusionFeatures: trajectory, every timestep in the bank, features of P_T at the first step', async () => {
  const steps: number[] = [];
  const inversion = await invertImage(runtime, { model, vae: { checkpoint }, image: faceImage(), caption, steps: 4, onStep: (s) => steps.push(s.index) });
  assert.deepEqual(steps, [0, 1, 2, 3]);
  assert.deepEqual(inversion.timesteps, [1, 251, 501, 751]);
  assert.equal(inversion.latents.length, 5);
  assert.deepEqual(inversion.latents[4].dims, [1, 4, 8, 8]);
  assert.equal(inversion.model, unetIdentity(checkpoint));

  const folder = join(tempDir(), 'banks');
  const progress: number[] = [];
  const written: number[] = []; // bytes on disk after each step: the bank grows step by step, not at the end
  const onStep = (s: { index: number }) => {
    progress.push(s.index);
    written.push(readdirSync(folder).reduce((sum, name) => sum + statSync(join(folder, name)).size, 0));
  };
  const bank = await extractFeatures(runtime, { model, inversion, caption, folder, onStep });
  assert.deepEqual(progress, [0, 1, 2, 3]);
  const stepBytes = written[1] - written[0];
  assert.equal(stepBytes, featureBankBytes(bank.blocks, 1));
  assert.deepEqual(written.map((w) => w - written[0]), [0, 1, 2, 3].map((i) => i * stepBytes));
  assert.equal(statSync(bank.path).size, written[3]);
  assert.deepEqual(bank.timesteps, [751, 501, 251, 1]);
  assert.deepEqual(bank.latentSize, [8, 8]);
  assert.deepEqual(bank.blocks.map((b) => b.tokens), [64, 64, 16, 16, 4, 4, 1, 4, 4, 4, 16, 16, 16, 64, 64, 64]);
  assert.deepEqual(openFeatureBank(bank.path), bank, 'complete on disk with every timestep × block × side');

  // Step 0 runs the UNet on P_T at timestep 751 with the caption.
  const session = await runtime.unetSession(checkpoint, { recordFeatures: true });
  const direct = await session.run({
    sample: inversion.latents[4],
    timestep: { dims: [1], data: Float32Array.of(751) },
    encoder_hidden_states: caption[0].embeds,
  });
  const first = readFeatureStep(bank, 751);
  for (const b of bank.blocks) {
    const expected = fromFloat16(new Uint8Array(toFloat16(direct[`features.${b.name}.self`].data).buffer));
    assert.deepEqual(first.get(`${b.name}.self`)?.data, expected, b.name);
  }

  // The same request reuses the bank without running the UNet.
  const again: number[] = [];
  const reused = await extractFeatures(runtime, { model, inversion, caption, folder, onStep: (s) => again.push(s.index) });
  assert.equal(reused.path, bank.path);
  assert.deepEqual(again, []);
});

test('interrupting the extraction leaves no bank file; wrong inputs are refused clearly', async () => {
  const inversion = await invertImage(runtime, { model, vae: { checkpoint }, image: faceImage(), caption, steps: 3 });
  const folder = join(tempDir(), 'banks');
  let calls = 0;
  await assert.rejects(extractFeatures(runtime, {
    model, inversion, caption, folder,
    throwIfAborted: () => { if (++calls === 2) throw new Error('interrupted'); },
  }), /interrupted/);
  assert.deepEqual(readdirSync(folder), []);

  await assert.rejects(extractFeatures(runtime, { model, inversion: { ...inversion, model: 'unet-sha256:other' }, caption, folder }),
    (e: Error) => e instanceof InvAdapterInputError && /another model/.test(e.message));
  const two = makeImageBatch(2, 64, 64);
  await assert.rejects(invertImage(runtime, { model, vae: { checkpoint }, image: two, caption, steps: 2 }), /one face image.*holds 2/);
});
