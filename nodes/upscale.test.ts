// UpscaleModelLoader / ImageUpscaleWithModel: ComfyUI's inputs, models/upscale_models listing, refusals, and an
// upscale through the node (progress per tile, interrupt between tiles, output = model's factor, clamped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UpscaleModelLoader, ImageUpscaleWithModel, listUpscaleModels } from './upscale.ts';
import { createTestContext } from './test-context.ts';
import { SdRuntime } from '../engine/sd/index.ts';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { tempDir, noise } from '../engine/onnx/test-helpers.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import type { UpscaleModel } from '../engine/upscale/index.ts';
import { DEMO_UPSCALER_FOLDER } from '../models/generate-demo-upscalers.ts';

test('UpscaleModelLoader and ImageUpscaleWithModel have ComfyUI\'s inputs, outputs and categories', () => {
  assert.deepEqual(Object.keys(UpscaleModelLoader.inputs.required), ['model_name']);
  assert.deepEqual(UpscaleModelLoader.outputs.map((o) => o.type), ['UPSCALE_MODEL']);
  assert.equal(UpscaleModelLoader.category, 'loaders');
  assert.deepEqual(Object.keys(ImageUpscaleWithModel.inputs.required), ['upscale_model', 'image']);
  assert.deepEqual(ImageUpscaleWithModel.outputs.map((o) => o.type), ['IMAGE']);
  assert.equal(ImageUpscaleWithModel.category, 'image/upscaling');
});

test('models/upscale_models is listed; a model upscales an image tile by tile; other files are refused', async () => {
  const sd = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  const progress: Array<[number, number]> = [];
  let interruptAfter = Infinity;
  const t = await createTestContext({ services: { sd } });
  t.ctx.progress = (done, total) => progress.push([done, total]);
  t.ctx.throwIfInterrupted = () => {
    if (progress.length >= interruptAfter) throw new Error('interrupted');
  };
  try {
    const folder = join(t.folders.models, 'upscale_models');
    mkdirSync(join(folder, 'esrgan'), { recursive: true });
    copyFileSync(join(DEMO_UPSCALER_FOLDER, 'invgraph-demo-compact-x4.safetensors'), join(folder, 'realesr-general-x4v3.safetensors'));
    copyFileSync(join(DEMO_UPSCALER_FOLDER, 'invgraph-demo-esrgan-x4.safetensors'), join(folder, 'esrgan', 'RealESRGAN_x4plus.safetensors'));
    writeSafetensors(join(folder, 'not-an-upscaler.safetensors'), { 'lora_unet_x.lora_down.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } });
    assert.deepEqual(listUpscaleModels(t.env), ['esrgan/RealESRGAN_x4plus.safetensors', 'not-an-upscaler.safetensors', 'realesr-general-x4v3.safetensors']);

    const load = async (name: string) => (await UpscaleModelLoader.run({ model_name: name }, t.ctx)).outputs[0] as UpscaleModel;
    const compact = await load('realesr-general-x4v3.safetensors');
    assert.equal(compact.arch.kind, 'compact');
    assert.match(t.logs.at(-1)!, /realesr-general-x4v3\.safetensors: SRVGGNetCompact/);
    assert.equal((await load('esrgan/RealESRGAN_x4plus.safetensors')).arch.kind, 'esrgan');
    await assert.rejects(load('not-an-upscaler.safetensors'), /not-an-upscaler\.safetensors is a LoRA, not an upscale model/);
    await assert.rejects(load('missing.pth'), /not found/);
    await assert.rejects(load('../../escape.pth'));

    // 600 x 40 at 4x: two 512 px tiles across.
    const image = makeImageBatch(1, 40, 600, noise(40 * 600 * 3, 9).map((v) => 0.5 + 0.4 * v));
    const out = (await ImageUpscaleWithModel.run({ upscale_model: compact, image }, t.ctx)).outputs[0] as typeof image;
    assert.deepEqual([out.batch, out.height, out.width], [1, 160, 2400]);
    assert.deepEqual(progress, [[1, 2], [2, 2]]);
    assert.ok(out.data.every((v) => v >= 0 && v <= 1));
    // The demo compact model adds a faint residual to the nearest-upscaled input.
    let diff = 0;
    for (let y = 0; y < 160; y++) for (let x = 0; x < 2400; x++) for (let c = 0; c < 3; c++) {
      diff += Math.abs(out.data[(y * 2400 + x) * 3 + c] - image.data[(Math.floor(y / 4) * 600 + Math.floor(x / 4)) * 3 + c]);
    }
    const mean = diff / out.data.length;
    assert.ok(mean > 1e-4 && mean < 0.1, `mean |out - nearest| = ${mean}`);

    progress.length = 0;
    interruptAfter = 1;
    await assert.rejects(async () => ImageUpscaleWithModel.run({ upscale_model: compact, image }, t.ctx), /interrupted/);
    assert.equal(progress.length, 1, 'stopped after the first tile');
  } finally {
    await t.dispose();
    await sd.release();
  }
});
