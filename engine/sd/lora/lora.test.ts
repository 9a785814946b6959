// LoRA parity: the UNet and text encoder with LoRA branches in the graph equal the networks of a checkpoint
// whose weights were patched by hand (W + strength·alpha/rank·up@down), for kohya keys (linear, 1×1 and 3×3
// LoCon conv layers) and diffusers/PEFT keys, stacked; a strength change reuses the built graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, createSession } from '../../onnx/index.ts';
import type { TensorToWrite, Feed } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { openLora, loraCheckpoint, loraStrengths, LoraError } from './lora.ts';
import { unetModelPath } from '../unet/unet.ts';
import { sdModelPath } from '../graph-models.ts';
import { unetLdmKeys } from '../checkpoint/key-map.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose, writeFixtureConfigBeside } from '../test-fixture.ts';
import { writeTorchCheckpoint } from '../checkpoint/test-torch-file.ts';

const base = openCheckpoint(FIXTURE_CHECKPOINT);
const src = openSafetensors(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();

interface Layer { net: 'unet' | 'textEncoder'; name: string; rank: number; alpha?: number }
interface Factors { down: Float32Array; up: Float32Array; scale: number }

const UNET_LAYERS: Layer[] = [
  { net: 'unet', name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight', rank: 4, alpha: 2 },
  { net: 'unet', name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight', rank: 2 },
  { net: 'unet', name: 'down_blocks.0.attentions.0.proj_in.weight', rank: 4, alpha: 8 },
  { net: 'unet', name: 'down_blocks.0.resnets.0.conv1.weight', rank: 3, alpha: 1 },
  { net: 'unet', name: 'mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.weight', rank: 4, alpha: 4 },
  { net: 'unet', name: 'up_blocks.1.attentions.0.transformer_blocks.0.ff.net.2.weight', rank: 8, alpha: 4 },
];
const CLIP_LAYER: Layer = { net: 'textEncoder', name: 'text_model.encoder.layers.0.self_attn.q_proj.weight', rank: 4, alpha: 4 };

const ldmKey = (l: Layer) => `lora_unet_${unetLdmKeys(l.name)[0].slice('model.diffusion_model.'.length, -'.weight'.length).replaceAll('.', '_')}`;
const kohyaKey = (l: Layer) => `${l.net === 'unet' ? 'lora_unet_' : 'lora_te_'}${l.name.replace(/\.weight$/, '').replaceAll('.', '_')}`;
const peftKey = (l: Layer) => `${l.net === 'unet' ? 'unet.' : 'text_encoder.'}${l.name.replace(/\.weight$/, '')}`;

/** Writes a LoRA for `layers` in kohya or PEFT naming; returns its factors by weight name. */
function writeLora(path: string, layers: Layer[], style: 'kohya' | 'peft' | 'ldm', seed: number, torch = false): Map<string, Factors> {
  const tensors: Record<string, TensorToWrite> = {};
  const factors = new Map<string, Factors>();
  layers.forEach((l, i) => {
    const shape = base[l.net].weight(l.name).shape;
    const [out, inp, kh = 1, kw = 1] = shape;
    const conv = shape.length === 4;
    const down = noise(l.rank * inp * kh * kw, seed + 2 * i).map((x) => x * 0.5);
    const up = noise(out * l.rank, seed + 2 * i + 1).map((x) => x * 0.5);
    const downShape = conv ? [l.rank, inp, kh, kw] : [l.rank, inp];
    const upShape = conv ? [out, l.rank, 1, 1] : [out, l.rank];
    if (style !== 'peft') {
      const key = style === 'ldm' && l.net === 'unet' ? ldmKey(l) : kohyaKey(l);
      tensors[`${key}.lora_down.weight`] = { dtype: 'F32', shape: downShape, data: down };
      tensors[`${key}.lora_up.weight`] = { dtype: 'F32', shape: upShape, data: up };
      if (l.alpha !== undefined) tensors[`${key}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(l.alpha) };
    } else {
      tensors[`${peftKey(l)}.lora_A.weight`] = { dtype: 'F32', shape: downShape, data: down };
      tensors[`${peftKey(l)}.lora_B.weight`] = { dtype: 'F32', shape: upShape, data: up };
    }
    factors.set(l.name, { down, up, scale: style !== 'peft' && l.alpha !== undefined ? l.alpha / l.rank : 1 });
  });
  if (torch) writeTorchCheckpoint(path, Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { ...t, data: t.data as Float32Array }])));
  else writeSafetensors(path, tensors);
  return factors;
}

/** The fixture with weights patched by hand: W + Σ strength·scale·(up @ down). */
function patchedCheckpoint(patches: Array<{ factors: Map<string, Factors>; net: 'unet' | 'textEncoder'; strength: number }>): Checkpoint {
  const replaced = new Map<string, Float32Array>();
  for (const { factors, net, strength } of patches) {
    for (const [name, f] of factors) {
      if (!base[net].has(name)) continue;
      const ref = base[net].weight(name);
      const key = [...src.tensors.values()].find((t) => t.offset === ref.offset)!.name;
      const w = replaced.get(key) ?? src.read(key);
      const out = ref.shape[0];
      const cols = w.length / out;
      const rank = f.down.length / cols;
      for (let o = 0; o < out; o++) {
        for (let c = 0; c < cols; c++) {
          let sum = 0;
          for (let r = 0; r < rank; r++) sum += f.up[o * rank + r] * f.down[r * cols + c];
          w[o * cols + c] += strength * f.scale * sum;
        }
      }
      replaced.set(key, w);
    }
  }
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, info] of src.tensors) tensors[key] = { dtype: info.dtype, shape: info.shape, data: replaced.get(key) ?? src.readBytes(key) };
  const path = join(tempDir(), 'patched.safetensors');
  writeSafetensors(path, tensors);
  writeFixtureConfigBeside(path);
  return openCheckpoint(path);
}

const unetGolden = goldens('unet.safetensors');
const unetFeeds = (): Record<string, Feed> => ({
  sample: { dims: unetGolden('sample').dims, data: unetGolden('sample').data },
  timestep: { dims: unetGolden('timestep').dims, data: unetGolden('timestep').data },
  encoder_hidden_states: { dims: unetGolden('encoder_hidden_states').dims, data: unetGolden('encoder_hidden_states').data },
});

async function runUnet(checkpoint: Checkpoint): Promise<Float32Array> {
  const { path } = unetModelPath(cacheDir, checkpoint, {});
  const session = await createSession(path, { device: 'cpu', threads: 1 });
  const strengths = loraStrengths(checkpoint, 'unet');
  const out: Record<string, Tensor> = await session.run(strengths ? { ...unetFeeds(), lora_strengths: { dims: [strengths.length], data: strengths } } : unetFeeds());
  await session.release();
  return out[Object.keys(out)[0]].data;
}

async function runClip(checkpoint: Checkpoint): Promise<Float32Array> {
  const ids = goldens('text_encoder.safetensors')('input_ids');
  const session = await createSession(sdModelPath(cacheDir, checkpoint, { kind: 'clip-text' }).path, { device: 'cpu', threads: 1 });
  const strengths = loraStrengths(checkpoint, 'textEncoder');
  const feeds: Record<string, Feed> = { input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } };
  if (strengths) feeds.lora_strengths = { dims: [strengths.length], data: strengths };
  const out = await session.run(feeds);
  await session.release();
  return out.last_hidden_state.data;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('a kohya LoRA (linear, 1×1 and 3×3 conv, text encoder) equals the hand-patched weights; strength changes reuse the graph', async () => {
  const dir = tempDir();
  const factors = writeLora(join(dir, 'style.safetensors'), [...UNET_LAYERS, CLIP_LAYER], 'kohya', 10);
  const lora = openLora(join(dir, 'style.safetensors'), base);
  assert.equal(lora.unet.size, UNET_LAYERS.length);
  assert.equal(lora.textEncoder.size, 1);
  assert.deepEqual(lora.unmatched, []);
  const plain = await runUnet(base);
  for (const strength of [0.7, -1.3]) {
    const withLora = loraCheckpoint({ base, unet: [{ lora, strength }], textEncoder: [{ lora, strength }] });
    const expected = patchedCheckpoint([{ factors, net: 'unet', strength }, { factors, net: 'textEncoder', strength }]);
    const got = await runUnet(withLora);
    assertClose(got, await runUnet(expected), `UNet, strength ${strength}`);
    assert.ok(maxDiff(got, plain) > 1e-3, 'the LoRA changes the output');
    assertClose(await runClip(withLora), await runClip(expected), `text encoder, strength ${strength}`);
  }
  // One graph for every strength: the second strength found the first one's build.
  const a = loraCheckpoint({ base, unet: [{ lora, strength: 0.1 }], textEncoder: [] });
  const b = loraCheckpoint({ base, unet: [{ lora, strength: 0.9 }], textEncoder: [] });
  assert.equal(unetModelPath(cacheDir, a, {}).path, unetModelPath(cacheDir, b, {}).path);
  assert.equal(unetModelPath(cacheDir, b, {}).built, false);
  // Strength 0 is exactly the base model.
  assert.deepEqual([...await runUnet(loraCheckpoint({ base, unet: [{ lora, strength: 0 }], textEncoder: [] }))], [...plain]);
});

test('stacked LoRAs (kohya .safetensors + PEFT keys in a torch .pt) equal both patches applied by hand', async () => {
  const dir = tempDir();
  const first = writeLora(join(dir, 'a.safetensors'), UNET_LAYERS.slice(0, 4), 'kohya', 30);
  const second = writeLora(join(dir, 'b.pt'), [UNET_LAYERS[0], UNET_LAYERS[5], CLIP_LAYER], 'peft', 50, true);
  const a = openLora(join(dir, 'a.safetensors'), base);
  const b = openLora(join(dir, 'b.pt'), base);
  assert.equal(b.unet.size, 2);
  const stacked = loraCheckpoint({ base, unet: [{ lora: a, strength: 0.8 }, { lora: b, strength: -0.5 }], textEncoder: [{ lora: b, strength: 1.5 }] });
  const expected = patchedCheckpoint([
    { factors: first, net: 'unet', strength: 0.8 }, { factors: second, net: 'unet', strength: -0.5 }, { factors: second, net: 'textEncoder', strength: 1.5 },
  ]);
  assertClose(await runUnet(stacked), await runUnet(expected), 'stacked UNet');
  assertClose(await runClip(stacked), await runClip(expected), 'stacked text encoder');
});

test('kohya keys in the original LDM layout (lora_unet_input_blocks_…) reach the same layers as diffusers-style ones', async () => {
  const dir = tempDir();
  writeLora(join(dir, 'diffusers-names.safetensors'), UNET_LAYERS, 'kohya', 70);
  writeLora(join(dir, 'ldm-names.safetensors'), UNET_LAYERS, 'ldm', 70);
  const a = openLora(join(dir, 'diffusers-names.safetensors'), base);
  const b = openLora(join(dir, 'ldm-names.safetensors'), base);
  assert.deepEqual(b.unmatched, []);
  assert.deepEqual([...b.unet.keys()].sort(), [...a.unet.keys()].sort());
  assert.ok([...b.unet.values()].some((m) => m.key.startsWith('lora_unet_input_blocks_')));
  const run = (lora: typeof a) => runUnet(loraCheckpoint({ base, unet: [{ lora, strength: 0.9 }], textEncoder: [] }));
  assert.deepEqual([...await run(b)], [...await run(a)]);
});

test('files that are not usable LoRAs are refused; keys that match nothing are reported', () => {
  const dir = tempDir();
  const f32 = (shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((x, y) => x * y, 1)) });
  const write = (name: string, tensors: Record<string, TensorToWrite>) => { writeSafetensors(join(dir, name), tensors); return join(dir, name); };
  assert.throws(() => openLora(write('ckpt.safetensors', { 'model.diffusion_model.out.2.weight': f32([2]) }), base), (e: Error) => e instanceof LoraError && /full checkpoint/.test(e.message));
  assert.throws(() => openLora(write('loha.safetensors', { 'lora_unet_x.hada_w1_a': f32([2]) }), base), /LoHa/);
  assert.throws(() => openLora(write('sdxl.safetensors', { 'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_down.weight': f32([4, 640]), 'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_up.weight': f32([640, 4]) }), base), /matches no weight/);
  const q = kohyaKey(UNET_LAYERS[0]);
  assert.throws(() => openLora(write('wide.safetensors', { [`${q}.lora_down.weight`]: f32([4, 640]), [`${q}.lora_up.weight`]: f32([640, 4]) }), base), /do not fit the model's weight \[32,32\]/);
  const partial = openLora(write('partial.safetensors', {
    [`${q}.lora_down.weight`]: f32([4, 32]), [`${q}.lora_up.weight`]: f32([32, 4]),
    'lora_unet_nothing_here.lora_down.weight': f32([4, 32]), 'lora_unet_nothing_here.lora_up.weight': f32([32, 4]),
  }), base);
  assert.deepEqual(partial.unmatched.sort(), ['lora_unet_nothing_here.lora_down.weight', 'lora_unet_nothing_here.lora_up.weight']);
});
