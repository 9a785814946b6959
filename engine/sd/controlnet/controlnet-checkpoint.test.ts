// ControlNet files: the fixture's LDM `control_model.*` file, the same weights as a bare-LDM file, a diffusers-named
// single file and an fp16 diffusers folder all give the golden residuals; other files are refused saying what they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, Module, createSession, writeSafetensors, openSafetensors } from '../../onnx/index.ts';
import type { WeightSource, TensorToWrite } from '../../onnx/index.ts';
import { f32ToF16 } from '../../onnx/half.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { unetModelPath } from '../unet/unet.ts';
import { openControlnet, ControlnetError, controlnetLdmKeys, resolveControlnetConfig } from './controlnet-checkpoint.ts';
import type { Controlnet } from './controlnet-checkpoint.ts';
import { controlnetForward } from './controlnet.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose } from '../test-fixture.ts';
import { tempDir } from '../../onnx/test-helpers.ts';
import { demoDiffControlnetTensors } from '../../../models/generate-demo-control.ts';

const CONTROLNET = `${FIXTURE_DIR}controlnet.safetensors`;
const golden = goldens('unet_controlnet.safetensors');
const dir = tempDir();
const fixtureBytes = readFileSync(CONTROLNET);

/** The diffusers names the network reads (recorded while building it once). */
function diffusersNames(net: Controlnet): string[] {
  const names = new Set<string>();
  const source: WeightSource = { has: (n) => net.weights.has(n), weight: (n) => (names.add(n), net.weights.weight(n)) };
  const g = new GraphBuilder({ name: 'probe' });
  controlnetForward(new Module(g, source, ''), {
    sample: g.input('sample', 'float32', ['B', 4, 'H', 'W']),
    timestep: g.input('timestep', 'float32', ['B']),
    encoderHiddenStates: g.input('text', 'float32', ['B', 77, 32]),
    controlnetCond: g.input('hint', 'float32', ['B', 3, '8*H', '8*W']),
  }, resolveControlnetConfig(net, [8, 8, 8, 8]));
  return [...names];
}

/** Writes the fixture's weights under other names, as float32 or float16 (plus `extra` tensors). */
function rewrite(path: string, rename: (diffusersName: string) => string, dtype: 'F32' | 'F16', extra: Record<string, TensorToWrite> = {}): void {
  const net = openControlnet(CONTROLNET);
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of diffusersNames(net)) {
    const ref = net.weights.weight(name);
    const values = new Float32Array(fixtureBytes.buffer.slice(fixtureBytes.byteOffset + ref.offset, fixtureBytes.byteOffset + ref.offset + ref.length));
    tensors[rename(name)] = dtype === 'F32' ? { dtype, shape: ref.shape, data: values } : { dtype, shape: ref.shape, data: Uint16Array.from(values, f32ToF16) };
  }
  writeSafetensors(path, { ...extra, ...tensors });
}

/** The fused UNet + this ControlNet on the golden inputs: residual 0, mid residual and out. */
async function residuals(path: string, net?: Controlnet): Promise<Record<string, Float32Array>> {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const model = unetModelPath(dir, checkpoint, { controlnet: { residuals: 'fused', nets: [{ path, net }], outputResiduals: true } }).path;
  const session = await createSession(model, { device: 'cpu', threads: 1 });
  const hint = golden('hint').data;
  const hints = new Float32Array(hint.length * 2);
  hints.set(hint);
  hints.set(hint, hint.length);
  try {
    const out = await session.run({
      sample: golden('sample'), timestep: { dims: [2], data: golden('timestep').data }, encoder_hidden_states: golden('encoder_hidden_states'),
      'controlnet.0.hint': { dims: [2, 3, 64, 64], data: hints }, 'controlnet.0.strength': { dims: [2], data: Float32Array.of(1, 1) },
    });
    return { down0: out['controlnet.0.down_residual.0'].data, mid: out['controlnet.0.mid_residual'].data, out: out.out.data };
  } finally {
    await session.release();
  }
}

test('the fixture ControlNet (LDM control_model.*) opens with the architecture of its config', () => {
  const net = openControlnet(CONTROLNET);
  assert.equal(net.layout, 'ldm');
  assert.deepEqual(net.config.encoder.blockOutChannels, [32, 32, 64, 64]);
  assert.deepEqual(net.config.encoder.attentionLevels, [true, true, true, false]);
  assert.equal(net.config.encoder.crossAttentionDim, 32);
  assert.equal(net.config.hintChannels, 3);
  assert.deepEqual(net.config.hintBlockChannels, [16, 16, 32, 32, 96, 96, 256]);
  assert.deepEqual(controlnetLdmKeys('controlnet_cond_embedding.conv_out.weight', 'control_model.', 8), ['control_model.input_hint_block.14.weight']);
  assert.deepEqual(controlnetLdmKeys('down_blocks.1.resnets.0.norm1.weight', '', 8), ['input_blocks.4.0.in_layers.0.weight']);
  assert.deepEqual(controlnetLdmKeys('controlnet_down_blocks.11.bias', '', 8), ['zero_convs.11.0.bias']);
});

test('bare LDM names, diffusers names (single file) and an fp16 diffusers folder give the golden residuals', async () => {
  const bare = join(dir, 'bare.safetensors');
  rewrite(bare, (n) => controlnetLdmKeys(n, 'control_model.', 8)[0].slice('control_model.'.length), 'F32');
  const single = join(dir, 'diffusers-names.safetensors');
  rewrite(single, (n) => n, 'F32');
  const folder = join(dir, 'controlnet-fp16');
  mkdirSync(folder);
  rewrite(join(folder, 'diffusion_pytorch_model.fp16.safetensors'), (n) => n, 'F16');
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ _class_name: 'ControlNetModel', attention_head_dim: 8, cross_attention_dim: 32 }));

  assert.equal(openControlnet(bare).layout, 'ldm');
  assert.equal(openControlnet(single).layout, 'diffusers');
  assert.equal(openControlnet(folder).layout, 'diffusers');
  assert.equal(openSafetensors(join(folder, 'diffusion_pytorch_model.fp16.safetensors')).tensors.get('controlnet_mid_block.weight')?.dtype, 'F16');
  // A whole ControlLDM training file: the base UNet (model.diffusion_model.*) beside control_model.*.
  const whole = join(dir, 'control-ldm.safetensors');
  rewrite(whole, (n) => controlnetLdmKeys(n, 'control_model.', 8)[0], 'F32', { 'model.diffusion_model.input_blocks.0.0.weight': { dtype: 'F32', shape: [1], data: Float32Array.of(0) } });
  assert.equal(openControlnet(whole).layout, 'ldm');
  for (const path of [bare, single, whole]) {
    const r = await residuals(path);
    assertClose(r.down0, golden('down_residual.0').data, `${path} down_residual.0`);
    assertClose(r.mid, golden('mid_residual').data, `${path} mid_residual`);
    assertClose(r.out, golden('out').data, `${path} out`);
  }
  // fp16 weights (cast to float32 in the graph): rounding of ~5e-4 relative per weight through 20 layers.
  const half = await residuals(folder);
  const ref = golden('mid_residual').data;
  const scale = Math.max(...ref.map(Math.abs));
  const error = Math.max(...half.mid.map((v, i) => Math.abs(v - ref[i])));
  assert.ok(error < 2e-2 * (1 + scale), `fp16 mid residual error ${error}`);
  assert.ok(error > 0, 'fp16 weights must actually be rounded');
});

test('a "difference" ControlNet (deltas to the UNet, key difference) plus the model\'s UNet gives the golden residuals', async () => {
  // The demo difference ControlNet is the fixture ControlNet minus the fixture UNet (models/generate-demo-control.ts).
  const path = join(dir, 'diff_control_sd15.safetensors');
  writeSafetensors(path, demoDiffControlnetTensors(CONTROLNET, FIXTURE_CHECKPOINT));
  assert.throws(() => openControlnet(path), (e: Error) => e instanceof ControlnetError && e.message.includes(path) && /"difference" ControlNet.*DiffControlNetLoader/.test(e.message));
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const base = { unet: checkpoint.unet, fingerprint: checkpoint.fingerprint, path: checkpoint.path };
  const net = openControlnet(path, { diffBase: base });
  assert.equal(net.diffBase, checkpoint.path);
  // (Heads: the fixture's come from its folder's config; this copy takes the UNet's, which are the same.)
  const plain = openControlnet(CONTROLNET).config;
  assert.deepEqual(net.config, { ...plain, encoder: { ...plain.encoder, heads: undefined } });
  // Its fingerprint names the base too: the same file with another model is another graph.
  assert.match(net.fingerprint, /^diff\(.+\+.+\)$/);
  assert.notEqual(net.fingerprint, openControlnet(path, { diffBase: { ...base, fingerprint: 'other' } }).fingerprint);
  const r = await residuals(path, net);
  assertClose(r.down0, golden('down_residual.0').data, 'diff down_residual.0');
  assertClose(r.mid, golden('mid_residual').data, 'diff mid_residual');
  assertClose(r.out, golden('out').data, 'diff out');
  // Without the base added, the deltas alone are far from the ControlNet.
  const alone = openControlnet(path, { diffBase: { unet: { has: () => false, weight: (n) => checkpoint.unet.weight(n) }, fingerprint: 'none', path: 'none' } });
  const wrong = await residuals(path, alone);
  assert.ok(Math.max(...wrong.mid.map((v, i) => Math.abs(v - golden('mid_residual').data[i]))) > 1e-2, 'the base weights matter');
  // A plain ControlNet ignores the base (as ComfyUI's DiffControlNetLoader does).
  assert.equal(openControlnet(CONTROLNET, { diffBase: base }).fingerprint, openControlnet(CONTROLNET).fingerprint);
});

function fakeFile(name: string, keys: string[]): string {
  const path = join(dir, name);
  writeSafetensors(path, Object.fromEntries(keys.map((k) => [k, { dtype: 'F32', shape: [1], data: Float32Array.of(1) }])));
  return path;
}

test('files that are not SD1.5 ControlNets are refused with a message saying what they are', () => {
  const refused = (path: string, pattern: RegExp) =>
    assert.throws(() => openControlnet(path), (e: Error) => e instanceof ControlnetError && e.message.includes(path) && pattern.test(e.message), path);
  refused(FIXTURE_CHECKPOINT, /Stable Diffusion checkpoint.*models\/checkpoints/);
  refused(fakeFile('sdxl.safetensors', ['control_model.zero_convs.0.0.weight', 'control_model.label_emb.0.0.weight']), /SDXL ControlNet/);
  refused(fakeFile('sdxl-diffusers.safetensors', ['controlnet_cond_embedding.conv_in.weight', 'add_embedding.linear_1.weight']), /SDXL ControlNet/);
  refused(fakeFile('t2i.safetensors', ['adapter.body.0.resnets.0.block1.weight']), /T2I-Adapter/);
  refused(fakeFile('t2i-original.safetensors', ['body.0.block1.weight', 'conv_in.weight']), /T2I-Adapter/);
  refused(fakeFile('lora.safetensors', ['lora_unet_down.lora_up.weight']), /LoRA/);
  refused(fakeFile('control-lora.safetensors', ['lora_controlnet', 'input_blocks.0.0.weight']), /Control-LoRA/);
  refused(fakeFile('sd3.safetensors', ['controlnet_blocks.0.weight', 'pos_embed_input.proj.weight']), /SD3 \/ Flux/);
  refused(fakeFile('other.safetensors', ['foo.weight']), /no ControlNet tensors.*foo\.weight/);
  const pth = join(dir, 'control_v11p_sd15_canny.pth');
  writeFileSync(pth, 'PK');
  refused(pth, /not a readable PyTorch checkpoint: no end-of-central-directory/);
  const shuffle = join(dir, 'control_v11e_sd15_shuffle.safetensors');
  writeFileSync(shuffle, fixtureBytes);
  refused(shuffle, /shuffle/);
  const t2iFolder = join(dir, 't2i-folder');
  mkdirSync(t2iFolder);
  writeFileSync(join(t2iFolder, 'config.json'), JSON.stringify({ _class_name: 'T2IAdapter' }));
  refused(t2iFolder, /T2I-Adapter/);
  assert.throws(() => openControlnet(join(dir, 'missing.safetensors')), /does not exist/);
});
