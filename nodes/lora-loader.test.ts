// LoraLoader / LoraLoaderModelOnly: ComfyUI's inputs, models/loras listing, strength 0 passthrough, stacking, and
// the runtime feeding each model's strengths to the one shared LoRA graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LoraLoader, LoraLoaderModelOnly, listLoras } from './lora-loader.ts';
import { createTestContext } from './test-context.ts';
import { SdRuntime, openCheckpoint, loadTokenizer, prepareModelPatch } from '../engine/sd/index.ts';
import type { SdModel, SdClip } from '../engine/sd/index.ts';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { tempDir, noise } from '../engine/onnx/test-helpers.ts';
import { FIXTURE_CHECKPOINT, goldens } from '../engine/sd/test-fixture.ts';

const Q = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
const TE = 'lora_te_text_model_encoder_layers_0_self_attn_q_proj';

test('the loaders have ComfyUI\'s inputs and outputs', () => {
  assert.deepEqual(Object.keys(LoraLoader.inputs.required), ['model', 'clip', 'lora_name', 'strength_model', 'strength_clip']);
  assert.deepEqual(LoraLoader.inputs.required.strength_model, { kind: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the diffusion model. This value can be negative.' });
  assert.deepEqual(LoraLoader.outputs.map((o) => o.type), ['MODEL', 'CLIP']);
  assert.deepEqual(Object.keys(LoraLoaderModelOnly.inputs.required), ['model', 'lora_name', 'strength_model']);
});

test('LoraLoader lists models/loras, passes strength 0 through, stacks, and the runtime feeds each model\'s strengths', async () => {
  const cacheDir = tempDir();
  const sd = new SdRuntime({ cacheDir, device: 'cpu', threads: 1 });
  const t = await createTestContext({ services: { sd } });
  try {
    await mkdir(join(t.folders.models, 'loras', 'styles'), { recursive: true });
    const f32 = (shape: number[], seed: number) => ({ dtype: 'F32' as const, shape, data: noise(shape[0] * shape[1], seed) });
    writeSafetensors(join(t.folders.models, 'loras', 'styles', 'ink.safetensors'), {
      [`${Q}.lora_down.weight`]: f32([4, 32], 1), [`${Q}.lora_up.weight`]: f32([32, 4], 2),
      [`${TE}.lora_down.weight`]: f32([4, 32], 3), [`${TE}.lora_up.weight`]: f32([32, 4], 4),
      'lora_unet_not_a_layer.lora_down.weight': f32([4, 32], 5), 'lora_unet_not_a_layer.lora_up.weight': f32([32, 4], 6),
    });
    assert.deepEqual(listLoras(t.env), ['styles/ink.safetensors']);
    const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
    const model: SdModel = { checkpoint };
    const clip: SdClip = { checkpoint, tokenizer: await loadTokenizer({}), stopAtLayer: -1 };
    const same = LoraLoader.run({ model, clip, lora_name: 'styles/ink.safetensors', strength_model: 0, strength_clip: 0 }, t.ctx) as { outputs: unknown[] };
    assert.equal(same.outputs[0], model);
    assert.equal(same.outputs[1], clip);
    const [m1, c1] = (LoraLoader.run({ model, clip, lora_name: 'styles/ink.safetensors', strength_model: 0.5, strength_clip: 0 }, t.ctx) as { outputs: [SdModel, SdClip] }).outputs;
    assert.equal(c1, clip);
    assert.match(t.logs.join('\n'), /lora key not loaded: lora_unet_not_a_layer\.lora_down\.weight/);
    const [m2] = (LoraLoaderModelOnly.run({ model: m1, lora_name: 'styles/ink.safetensors', strength_model: -2 }, t.ctx) as { outputs: [SdModel] }).outputs;
    assert.deepEqual(m2.checkpoint.loras!.unet.map((a) => a.strength), [0.5, -2]);
    assert.equal(m2.checkpoint.loras!.base, checkpoint);

    const golden = goldens('unet.safetensors');
    const feeds = { sample: golden('sample'), timestep: golden('timestep'), encoder_hidden_states: golden('encoder_hidden_states') };
    const run = async (m: SdModel) => {
      // The strengths come from the model's LoRA patch, as the samplers apply it.
      const patch = prepareModelPatch(m);
      const session = await sd.unetSession(m.checkpoint, patch.variant);
      const call = { sample: feeds.sample.data, dims: feeds.sample.dims, guidance: 'cond' as const, timestep: 0, sigma: 0, step: { index: 0, total: 1 } };
      const out = await session.run({
        ...Object.fromEntries(Object.entries(feeds).map(([k, g]) => [k, { dims: g.dims, data: g.data }])),
        ...patch.extraFeeds?.(call, feeds.sample.dims[0]),
      });
      return out[Object.keys(out)[0]].data;
    };
    const plain = await run(model);
    const half = await run(m1);
    const [mMinus] = (LoraLoaderModelOnly.run({ model, lora_name: 'styles/ink.safetensors', strength_model: -0.5 }, t.ctx) as { outputs: [SdModel] }).outputs;
    const minus = await run(mMinus);
    let changed = 0;
    for (let i = 0; i < plain.length; i++) changed = Math.max(changed, Math.abs(half[i] - plain[i]));
    assert.ok(changed > 1e-4, 'the LoRA changes the UNet output');
    assert.ok(minus.some((x, i) => Math.abs(x - half[i]) > 1e-4), 'another strength gives another output');
    // Strengths +0.5 and -0.5 ran on one built LoRA graph: two UNet graphs in all, with the plain one.
    assert.equal(readdirSync(cacheDir).filter((f) => f.startsWith('unet-')).length, 2);
  } finally {
    await t.dispose();
    await sd.release();
  }
});

test('a LoRA with layers for one network only leaves the other network as it is', async () => {
  const t = await createTestContext();
  try {
    await mkdir(join(t.folders.models, 'loras'), { recursive: true });
    writeSafetensors(join(t.folders.models, 'loras', 'te-only.safetensors'), {
      [`${TE}.lora_down.weight`]: { dtype: 'F32', shape: [4, 32], data: noise(128, 1) }, [`${TE}.lora_up.weight`]: { dtype: 'F32', shape: [32, 4], data: noise(128, 2) },
    });
    const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
    const model: SdModel = { checkpoint };
    const clip: SdClip = { checkpoint, tokenizer: await loadTokenizer({}), stopAtLayer: -1 };
    const [m, c] = (LoraLoader.run({ model, clip, lora_name: 'te-only.safetensors', strength_model: 1, strength_clip: 1 }, t.ctx) as { outputs: [SdModel, SdClip] }).outputs;
    assert.equal(m, model);
    assert.deepEqual(c.checkpoint.loras!.textEncoder.map((a) => a.strength), [1]);
    assert.equal((LoraLoaderModelOnly.run({ model, lora_name: 'te-only.safetensors', strength_model: 1 }, t.ctx) as { outputs: [SdModel] }).outputs[0], model);
  } finally {
    await t.dispose();
  }
});
