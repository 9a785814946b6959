// ControlNet nodes: ComfyUI names and inputs, the loader's COMBO and errors, how the apply nodes attach and
// chain control links (shared between positive and negative, strength 0 = passthrough), and the preprocessors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlnetNodes, ControlNetLoader, DiffControlNetLoader, ControlNetApply, ControlNetApplyAdvanced, Canny, ImageToDepthStyle, listControlnets } from './controlnet.ts';
import { createTestContext } from './test-context.ts';
import type { TestContext } from './test-context.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import type { ImageBatch } from '../engine/image/index.ts';
import type { Conditioning, SdControlNet } from '../engine/sd/index.ts';
import { SdRuntime, openCheckpoint, percentToSigma, openLora, loraCheckpoint } from '../engine/sd/index.ts';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { demoDiffControlnetTensors } from '../models/generate-demo-control.ts';
import { DEMO_LORA } from '../models/generate-demo-lora.ts';
import { computeSigmas } from '../engine/sampling/index.ts';
import { tempDir, noise } from '../engine/onnx/test-helpers.ts';
import { KSampler } from './sampling.ts';
import { safetensorsToTorch } from '../engine/sd/checkpoint/test-torch-file.ts';

const FIXTURE_CONTROLNET = fileURLToPath(new URL('../test/fixtures/sd15-tiny/controlnet.safetensors', import.meta.url));
const FIXTURE_CHECKPOINT = fileURLToPath(new URL('../test/fixtures/sd15-tiny/checkpoint.safetensors', import.meta.url));

async function withContext(body: (t: TestContext) => Promise<void>): Promise<void> {
  const context = await createTestContext();
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}

async function loadFixture(t: TestContext): Promise<SdControlNet> {
  await mkdir(join(t.folders.models, 'controlnet'), { recursive: true });
  await copyFile(FIXTURE_CONTROLNET, join(t.folders.models, 'controlnet', 'tiny.safetensors'));
  const result = await ControlNetLoader.run({ control_net_name: 'tiny.safetensors' }, t.ctx);
  return result.outputs[0] as SdControlNet;
}

const text = (): Conditioning => [{ embeds: { dims: [1, 77, 32], data: new Float32Array(77 * 32) } }];
const hint: ImageBatch = makeImageBatch(1, 8, 8);

test('the family has ComfyUI\'s classes, categories, inputs and outputs', () => {
  assert.deepEqual(controlnetNodes.map((n) => [n.name, n.category, n.outputs.map((o) => o.name ?? o.type).join(',')]), [
    ['ControlNetLoader', 'loaders', 'CONTROL_NET'],
    ['DiffControlNetLoader', 'loaders', 'CONTROL_NET'],
    ['ControlNetApply', 'conditioning/controlnet', 'CONDITIONING'],
    ['ControlNetApplyAdvanced', 'conditioning/controlnet', 'positive,negative'],
    ['Canny', 'image/preprocessors', 'IMAGE'],
    ['ImageToDepthStyle', 'image/preprocessors', 'IMAGE'],
  ]);
  assert.equal(ControlNetApply.deprecated, true);
  assert.deepEqual(Object.keys(ControlNetApplyAdvanced.inputs.required), ['positive', 'negative', 'control_net', 'image', 'strength', 'start_percent', 'end_percent']);
  assert.deepEqual(Object.keys(ControlNetApplyAdvanced.inputs.optional ?? {}), ['vae']);
  assert.deepEqual(ControlNetApplyAdvanced.inputs.required.strength, { kind: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 });
  assert.deepEqual(Canny.inputs.required.low_threshold, { kind: 'FLOAT', default: 0.4, min: 0.01, max: 0.99, step: 0.01 });
  assert.deepEqual(Canny.inputs.required.high_threshold, { kind: 'FLOAT', default: 0.8, min: 0.01, max: 0.99, step: 0.01 });
});

test('ControlNetLoader lists models/controlnet (files, diffusers folders, one subfolder level) and loads the tiny ControlNet', () => withContext(async (t) => {
  const root = join(t.folders.models, 'controlnet');
  assert.deepEqual(listControlnets(t.env), []);
  await mkdir(join(root, 'sd15', 'canny-diffusers'), { recursive: true });
  await writeFile(join(root, 'sd15', 'canny-diffusers', 'config.json'), '{}');
  await writeFile(join(root, 'control_v11p_sd15_canny.pth'), 'PK');
  await writeFile(join(root, 'notes.txt'), '');
  const net = await loadFixture(t);
  safetensorsToTorch(FIXTURE_CONTROLNET, join(root, 'tiny-torch.pth'));
  assert.deepEqual(listControlnets(t.env), ['control_v11p_sd15_canny.pth', 'sd15/canny-diffusers', 'tiny-torch.pth', 'tiny.safetensors']);
  const fromPth = (await ControlNetLoader.run({ control_net_name: 'tiny-torch.pth' }, t.ctx)).outputs[0] as SdControlNet;
  assert.deepEqual(fromPth.controlnet.config, net.controlnet.config);
  assert.deepEqual(fromPth.controlnet.weights.weight('conv_in.weight').shape, net.controlnet.weights.weight('conv_in.weight').shape);
  assert.deepEqual(net.controlnet.config.encoder.blockOutChannels, [32, 32, 64, 64]);
  assert.match(t.logs.join('\n'), /tiny\.safetensors: ldm layout/);
  await assert.rejects(async () => ControlNetLoader.run({ control_net_name: 'control_v11p_sd15_canny.pth' }, t.ctx), /control_v11p_sd15_canny\.pth is not a readable PyTorch checkpoint/);
  await assert.rejects(async () => ControlNetLoader.run({ control_net_name: '../checkpoints/x.safetensors' }, t.ctx));
}));

test('DiffControlNetLoader adds the model\'s UNet to a difference ControlNet; ControlNetLoader refuses one; LoRA models refused', () => withContext(async (t) => {
  const root = join(t.folders.models, 'controlnet');
  await mkdir(root, { recursive: true });
  writeSafetensors(join(root, 'diff_control_sd15.safetensors'), demoDiffControlnetTensors(FIXTURE_CONTROLNET, FIXTURE_CHECKPOINT));
  await copyFile(FIXTURE_CONTROLNET, join(root, 'tiny.safetensors'));
  assert.deepEqual(Object.keys(DiffControlNetLoader.inputs.required), ['model', 'control_net_name']);
  assert.equal(DiffControlNetLoader.displayName, 'Load ControlNet Model (diff)');
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const net = (await DiffControlNetLoader.run({ model: { checkpoint }, control_net_name: 'diff_control_sd15.safetensors' }, t.ctx)).outputs[0] as SdControlNet;
  assert.equal(net.controlnet.diffBase, checkpoint.path);
  assert.match(t.logs.join('\n'), /diff_control_sd15\.safetensors: difference ControlNet added to checkpoint\.safetensors/);
  const plain = (await DiffControlNetLoader.run({ model: { checkpoint }, control_net_name: 'tiny.safetensors' }, t.ctx)).outputs[0] as SdControlNet;
  assert.equal(plain.controlnet.diffBase, undefined);
  assert.match(t.logs.join('\n'), /tiny\.safetensors: not a difference ControlNet, loaded as it is/);
  await assert.rejects(async () => ControlNetLoader.run({ control_net_name: 'diff_control_sd15.safetensors' }, t.ctx), /"difference" ControlNet.*DiffControlNetLoader/);
  const lora = openLora(DEMO_LORA, checkpoint);
  const withLora = loraCheckpoint({ base: checkpoint, unet: [{ lora, strength: 1 }], textEncoder: [] });
  await assert.rejects(async () => DiffControlNetLoader.run({ model: { checkpoint: withLora }, control_net_name: 'diff_control_sd15.safetensors' }, t.ctx), /the model has LoRAs applied/);
}));

test('ControlNetApplyAdvanced: one link shared by positive and negative, chained onto a previous one; strength 0 passes through', () => withContext(async (t) => {
  const net = await loadFixture(t);
  const inputs = { control_net: net, image: hint, strength: 0.6, start_percent: 0.1, end_percent: 0.9 };
  const [positive, negative] = (await ControlNetApplyAdvanced.run({ positive: text(), negative: text(), ...inputs }, t.ctx)).outputs as Conditioning[];
  const first = positive[0].control;
  assert.ok(first && first === negative[0].control, 'the same link object on both (one ControlNet run)');
  assert.deepEqual({ ...first, controlNet: undefined, hint: undefined }, { controlNet: undefined, hint: undefined, strength: 0.6, startPercent: 0.1, endPercent: 0.9, previous: undefined });
  assert.equal(positive[0].controlApplyToUncond, false);
  const [p2, n2] = (await ControlNetApplyAdvanced.run({ positive, negative, ...inputs, strength: 1 }, t.ctx)).outputs as Conditioning[];
  assert.equal(p2[0].control?.previous, first);
  assert.equal(p2[0].control, n2[0].control);
  const same = await ControlNetApplyAdvanced.run({ positive, negative, ...inputs, strength: 0 }, t.ctx);
  assert.equal(same.outputs[0], positive);
  assert.equal(same.outputs[1], negative);
  assert.equal(positive[0].control, first, 'inputs are not modified');
}));

test('ControlNetApply (old): attaches to the one conditioning, full range, marked control_apply_to_uncond', () => withContext(async (t) => {
  const net = await loadFixture(t);
  const original = text();
  const [applied] = (await ControlNetApply.run({ conditioning: original, control_net: net, image: hint, strength: 0.5 }, t.ctx)).outputs as Conditioning[];
  assert.equal(applied[0].control?.strength, 0.5);
  assert.equal(applied[0].control?.startPercent, 0);
  assert.equal(applied[0].control?.endPercent, 1);
  assert.equal(applied[0].controlApplyToUncond, true);
  assert.equal(original[0].control, undefined);
  assert.equal((await ControlNetApply.run({ conditioning: original, control_net: net, image: hint, strength: 0 }, t.ctx)).outputs[0], original);
}));

test('Canny and ImageToDepthStyle nodes return IMAGE batches of the input size', () => withContext(async (t) => {
  const image = makeImageBatch(2, 12, 16);
  for (let y = 0; y < 12; y++) for (let x = 8; x < 16; x++) image.data.fill(x === 8 ? 0.45 : 0.9, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
  const [edges] = (await Canny.run({ image, low_threshold: 0.4, high_threshold: 0.8 }, t.ctx)).outputs as ImageBatch[];
  assert.deepEqual([edges.batch, edges.height, edges.width, edges.channels], [2, 12, 16, 3]);
  assert.ok(edges.data.some((v) => v === 1));
  const [depth] = (await ImageToDepthStyle.run({ image, invert: true }, t.ctx)).outputs as ImageBatch[];
  assert.equal(depth.data[0], 1);
  assert.equal(depth.data[9 * 3], 0);
}));

test('KSampler with ControlNetApplyAdvanced: control changes the result; strength 0 and a range the steps never reach do not', async () => {
  const sd = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  const context = await createTestContext({ services: { sd } });
  try {
    const net = await loadFixture(context);
    const checkpoint = openCheckpoint(fileURLToPath(new URL('../test/fixtures/sd15-tiny/checkpoint.safetensors', import.meta.url)));
    const textOf = (seed: number): Conditioning => [{ embeds: { dims: [1, 77, 32], data: noise(77 * 32, seed) } }];
    const image = makeImageBatch(1, 64, 64, noise(64 * 64 * 3, 9).map((v) => (v + 1) / 2));
    const sampleWith = async (positive: Conditioning, negative: Conditioning) => {
      const result = await KSampler.run({
        model: { checkpoint }, seed: 5n, steps: 3, cfg: 6, sampler_name: 'euler', scheduler: 'normal', positive, negative,
        latent_image: { samples: { dims: [1, 4, 8, 8], data: new Float32Array(256) } }, denoise: 1,
      }, context.ctx);
      return (result.outputs[0] as { samples: { data: Float32Array } }).samples.data;
    };
    const apply = async (strength: number, start: number, end: number) =>
      (await ControlNetApplyAdvanced.run({ positive: textOf(1), negative: textOf(2), control_net: net, image, strength, start_percent: start, end_percent: end }, context.ctx)).outputs as Conditioning[];
    const plain = await sampleWith(textOf(1), textOf(2));
    const [p1, n1] = await apply(1, 0, 1);
    const controlled = await sampleWith(p1, n1);
    assert.ok(controlled.some((v, i) => v !== plain[i]), 'the ControlNet must change the sample');
    const [p0, n0] = await apply(0, 0, 1);
    assert.deepEqual(await sampleWith(p0, n0), plain, 'strength 0: passthrough');
    // Active only for σ(0.35) ≤ σ ≤ σ(0.3); the 3 normal-schedule steps skip that band, so every call runs at strength 0.
    const stepSigmas = [...computeSigmas('normal', 3)].slice(0, -1);
    assert.ok(stepSigmas.every((s) => s > percentToSigma(0.3) || s < percentToSigma(0.35)), `steps at σ ${stepSigmas}`);
    const [pOff, nOff] = await apply(1, 0.3, 0.35);
    assert.deepEqual(await sampleWith(pOff, nOff), plain, 'gated off at every step: bitwise the plain sample');
    const [pLast, nLast] = await apply(1, 0.999, 1);
    assert.ok((await sampleWith(pLast, nLast)).some((v, i) => v !== plain[i]), 'σ_min ≤ σ(0.999): the last step is controlled');
  } finally {
    await context.dispose();
    await sd.release();
  }
});
