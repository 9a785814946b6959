// engine/upscale: architecture detection on the real key layouts, the graphs against a plain-JS reference,
// every ESRGAN layout giving the same network, tiling (exact where the receptive field fits the overlap,
// close otherwise, halving on out-of-memory) and clear refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { writeSafetensors, createSession, toFloat16 } from '../onnx/index.ts';
import type { TensorToWrite, ModelSession } from '../onnx/index.ts';
import { tempDir, noise, maxAbsDiff, maxAbs } from '../onnx/test-helpers.ts';
import { writeTorchCheckpoint } from '../sd/checkpoint/test-torch-file.ts';
import { makeImageBatch } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { detectUpscaler, buildUpscaleGraph, openUpscaleModel, upscaleModelPath, upscaleTiled, demoUpscalerTensors, demoUpscalerShapes, UpscaleModelError, tileStarts } from './index.ts';
import type { DemoUpscaler, UpscaleModel } from './index.ts';
import { referenceEsrgan, referenceCompact } from './test-reference.ts';
import type { Planes } from './test-reference.ts';

const shapes = (t: Record<string, TensorToWrite>) => new Map(Object.entries(t).map(([k, v]) => [k, { shape: v.shape }]));

function writeModel(spec: DemoUpscaler, name: string): string {
  const path = join(tempDir(), name);
  const tensors = demoUpscalerTensors(spec);
  if (name.endsWith('.safetensors')) writeSafetensors(path, tensors);
  else writeTorchCheckpoint(path, tensors as Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>, 'params_ema');
  return path;
}

async function session(model: UpscaleModel): Promise<ModelSession> {
  return createSession(upscaleModelPath(tempDir(), model).path, { device: 'cpu', threads: 1 });
}

async function runPlanes(s: ModelSession, x: Planes): Promise<Tensor> {
  return (await s.run({ image: { dims: [1, x.c, x.h, x.w], data: x.data } })).upscaled;
}

/** An image with smooth content and some texture, values in [0, 1]. */
function testImage(batch: number, h: number, w: number, seed = 5): ImageBatch {
  const n = noise(batch * h * w * 3, seed);
  const image = makeImageBatch(batch, h, w);
  for (let i = 0; i < image.data.length; i++) {
    const p = Math.floor(i / 3);
    const [y, x] = [Math.floor(p / w) % h, p % w];
    image.data[i] = 0.5 + 0.3 * Math.sin(x / 5 + (i % 3)) * Math.cos(y / 7) + 0.15 * n[i];
  }
  return image;
}

const ESRGAN = (layout: 'original' | 'basicsr' | 'bsrgan', extra: Partial<Extract<DemoUpscaler, { kind: 'esrgan' }>> = {}): DemoUpscaler =>
  ({ kind: 'esrgan', layout, features: 6, growth: 4, blocks: 2, upsamples: 2, seed: 3, ...extra });

test('ESRGAN is detected in its three key layouts with nf, gc, nb and scale from the shapes', () => {
  for (const layout of ['original', 'basicsr', 'bsrgan'] as const) {
    const { arch, fileKey } = detectUpscaler('x.pth', shapes(demoUpscalerTensors(ESRGAN(layout, { upsamples: 3 }))));
    assert.deepEqual(arch, { kind: 'esrgan', layout, features: 6, growth: 4, blocks: 2, upsamples: 3, inChannels: 3, outChannels: 3, unshuffle: 1, scale: 8 });
    assert.ok(demoUpscalerTensors(ESRGAN(layout, { upsamples: 3 }))[fileKey('body.1.rdb3.conv5.bias')]);
  }
  const keys = Object.keys(demoUpscalerTensors(ESRGAN('original')));
  assert.ok(keys.includes('model.1.sub.2.weight') && keys.includes('model.8.weight') && keys.includes('model.10.bias'), 'original layout: trunk conv after the blocks, hr conv model.8, last model.10');
  const x2 = detectUpscaler('RealESRGAN_x2plus.pth', shapes(demoUpscalerTensors(ESRGAN('basicsr', { unshuffle: 2 })))).arch;
  assert.equal(x2.scale, 2);
  assert.equal(x2.unshuffle, 2);
  assert.equal(x2.inChannels, 12);
  const one = detectUpscaler('1x.pth', shapes(demoUpscalerTensors(ESRGAN('original', { upsamples: 0 })))).arch;
  assert.equal(one.scale, 1);
});

test('SRVGGNetCompact is detected: convs from the body length, scale from the last conv', () => {
  const { arch, description } = detectUpscaler('realesr-general-x4v3.pth', shapes(demoUpscalerTensors({ kind: 'compact', features: 5, convs: 3, scale: 4, seed: 1 })));
  assert.deepEqual(arch, { kind: 'compact', features: 5, convs: 3, inChannels: 3, outChannels: 3, unshuffle: 1, scale: 4 });
  assert.match(description, /SRVGGNetCompact.*4x/);
  assert.equal(detectUpscaler('x2.pth', shapes(demoUpscalerTensors({ kind: 'compact', features: 5, convs: 1, scale: 2, seed: 1 }))).arch.scale, 2);
});

test('full-size shapes of the common models are detected, and their graphs build with every shape checked', () => {
  const cases: Array<[string, DemoUpscaler, Record<string, number>]> = [
    ['RealESRGAN_x4plus.pth', { kind: 'esrgan', layout: 'basicsr', features: 64, growth: 32, blocks: 23, upsamples: 2, seed: 1 }, { scale: 4, blocks: 23, features: 64, growth: 32 }],
    ['RealESRGAN_x2plus.pth', { kind: 'esrgan', layout: 'basicsr', features: 64, growth: 32, blocks: 23, upsamples: 2, unshuffle: 2, seed: 1 }, { scale: 2, inChannels: 12 }],
    ['4x-UltraSharp.pth', { kind: 'esrgan', layout: 'original', features: 64, growth: 32, blocks: 23, upsamples: 2, seed: 1 }, { scale: 4, blocks: 23 }],
    ['realesr-general-x4v3.pth', { kind: 'compact', features: 64, convs: 32, scale: 4, seed: 1 }, { scale: 4, convs: 32, features: 64 }],
    ['realesr-animevideov3.pth', { kind: 'compact', features: 64, convs: 16, scale: 4, seed: 1 }, { scale: 4, convs: 16 }],
  ];
  for (const [name, spec, expected] of cases) {
    const tensors = demoUpscalerShapes(spec);
    const { arch, fileKey } = detectUpscaler(name, tensors);
    for (const [k, v] of Object.entries(expected)) assert.equal((arch as unknown as Record<string, number>)[k], v, `${name}: ${k}`);
    // Weights as references to a file that is never read: building checks every conv's shape against its input.
    const stub = {
      has: (n: string) => tensors.has(fileKey(n)),
      weight: (n: string) => {
        const shape = tensors.get(fileKey(n))!.shape;
        return { file: '/nonexistent', offset: 0, length: 4 * shape.reduce((a, b) => a * b, 1), dtype: 'float32' as const, shape };
      },
    };
    const graph = buildUpscaleGraph(arch, stub).toModelData();
    assert.ok(graph.nodes.length > (arch.kind === 'esrgan' ? 23 * 15 : 32), `${name}: ${graph.nodes.length} nodes`);
    assert.equal(graph.initializers.filter((t) => !(t.data instanceof Uint8Array)).length, tensors.size, `${name}: every tensor of the file is used`);
  }
});

test('files of other kinds are refused, naming the file and what it looks like', () => {
  const t = (shape: number[]) => ({ shape });
  const cases: Array<[Map<string, { shape: number[] }>, RegExp]> = [
    [new Map([['lora_unet_down.lora_down.weight', t([4, 8])]]), /lora\.pth is a LoRA/],
    [new Map([['model.diffusion_model.input_blocks.0.0.weight', t([320, 4, 3, 3])]]), /lora\.pth is a Stable Diffusion checkpoint/],
    [new Map([['layers.0.residual_group.blocks.0.norm1.weight', t([60])]]), /SwinIR/],
    [new Map([['foo.weight', t([1])]]), /lora\.pth is not an upscale model invgraph knows \(it holds e\.g\. foo\.weight\); invgraph runs ESRGAN/],
    [new Map([['model.0.weight', t([8, 3, 3, 3])], ['model.1.sub.0.RDB1.conv1x1.weight', t([4, 8, 1, 1])]]), /ESRGAN\+/],
    [new Map([['body.0.weight', t([8, 3, 3, 3])], ['body.1.weight', t([8])], ['body.2.weight', t([40, 8, 3, 3])]]), /not 3·scale²/],
  ];
  for (const [tensors, message] of cases) assert.throws(() => detectUpscaler('lora.pth', tensors), (e: Error) => e instanceof UpscaleModelError && message.test(e.message));
  const incomplete = demoUpscalerTensors(ESRGAN('basicsr'));
  delete incomplete['conv_hr.weight'];
  assert.throws(() => detectUpscaler('cut.safetensors', shapes(incomplete)), /cut\.safetensors looks like an ESRGAN model .* no tensor 'conv_hr\.weight'/);
  const junk = join(tempDir(), 'junk.pth');
  writeFileSync(junk, 'PK not really a zip');
  assert.throws(() => openUpscaleModel(junk), (e: Error) => e instanceof UpscaleModelError && e.message.includes(junk));
});

test('ESRGAN graph = plain-JS reference; the original (.pth), Real-ESRGAN and BSRGAN layouts run the same network', async () => {
  const x: Planes = { c: 3, h: 7, w: 9, data: noise(3 * 7 * 9, 11).map((v) => 0.5 + 0.5 * v) };
  const expected = referenceEsrgan(demoUpscalerTensors(ESRGAN('basicsr')), x, 2, 2);
  const training = join(tempDir(), 'net_g_5000.pth'); // BasicSR training output: params_ema beside other entries
  writeTorchCheckpoint(training, demoUpscalerTensors(ESRGAN('basicsr')) as Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>, 'params_ema', { iter: 5000 });
  for (const [layout, file] of [['basicsr', 'RealESRGAN_x4plus.safetensors'], ['original', '4x-UltraSharp.pth'], ['bsrgan', 'BSRGAN.pth'], ['basicsr', training]] as const) {
    const model = openUpscaleModel(file === training ? training : writeModel(ESRGAN(layout), file));
    const s = await session(model);
    try {
      const out = await runPlanes(s, x);
      assert.deepEqual(out.dims, [1, 3, 28, 36]);
      const diff = maxAbsDiff(out.data, expected.data);
      assert.ok(diff < 1e-4 * Math.max(1, maxAbs(expected.data)), `${layout}: max |graph - reference| = ${diff}`);
    } finally {
      await s.release();
    }
  }
});

test('Real-ESRGAN x2 (pixel-unshuffled input) through the tiler = reference, odd sizes padded and cropped', async () => {
  const spec = ESRGAN('basicsr', { unshuffle: 2, blocks: 1 });
  const model = openUpscaleModel(writeModel(spec, 'RealESRGAN_x2plus.safetensors'));
  const s = await session(model);
  try {
    const image = testImage(1, 10, 14);
    const planes: Planes = { c: 3, h: 10, w: 14, data: new Float32Array(3 * 140) };
    for (let p = 0; p < 140; p++) for (let c = 0; c < 3; c++) planes.data[c * 140 + p] = image.data[p * 3 + c];
    const expected = referenceEsrgan(demoUpscalerTensors(spec), planes, 1, 2, 2);
    const run = async (tile: Tensor) => (await s.run({ image: tile })).upscaled;
    const out = await upscaleTiled(run, image, { scale: 2, unshuffle: 2, tileSize: 512, overlap: 32 });
    assert.deepEqual([out.height, out.width], [20, 28]);
    let diff = 0;
    for (let p = 0; p < 20 * 28; p++) for (let c = 0; c < 3; c++) diff = Math.max(diff, Math.abs(out.data[p * 3 + c] - Math.min(1, Math.max(0, expected.data[c * 560 + p]))));
    assert.ok(diff < 1e-4, `max diff ${diff}`);
    const odd = await upscaleTiled(run, testImage(1, 9, 13), { scale: 2, unshuffle: 2, tileSize: 8, overlap: 4 });
    assert.deepEqual([odd.height, odd.width], [18, 26]);
  } finally {
    await s.release();
  }
});

test('SRVGGNetCompact graph = plain-JS reference, from float32 .pth and float16 .safetensors', async () => {
  const spec: DemoUpscaler = { kind: 'compact', features: 6, convs: 3, scale: 4, seed: 4 };
  const x: Planes = { c: 3, h: 6, w: 5, data: noise(90, 2).map((v) => 0.5 + 0.5 * v) };
  const expected = referenceCompact(demoUpscalerTensors(spec), x, 3, 4);
  const half = join(tempDir(), 'realesr-general-x4v3-fp16.safetensors');
  writeSafetensors(half, Object.fromEntries(Object.entries(demoUpscalerTensors(spec)).map(([k, t]) => [k, { ...t, dtype: 'F16', data: toFloat16(t.data as Float32Array) }])));
  for (const [path, tolerance] of [[writeModel(spec, 'realesr-general-x4v3.pth'), 1e-5], [half, 5e-3]] as const) {
    const s = await session(openUpscaleModel(path));
    try {
      const out = await runPlanes(s, x);
      assert.deepEqual(out.dims, [1, 3, 24, 20]);
      assert.ok(maxAbsDiff(out.data, expected.data) < tolerance, `${path}: diff ${maxAbsDiff(out.data, expected.data)}`);
    } finally {
      await s.release();
    }
  }
});

test('tiled = untiled: exact when the receptive field is within a quarter of the overlap, within 1e-5 for ESRGAN; seams without overlap', async () => {
  const image = testImage(2, 70, 53);
  // 2 convs + last conv: 3 px of receptive radius, within 16/4.
  const shallow = openUpscaleModel(writeModel({ kind: 'compact', features: 4, convs: 1, scale: 2, seed: 7 }, 'c.safetensors'));
  const deep = openUpscaleModel(writeModel(ESRGAN('basicsr', { blocks: 1 }), 'e.safetensors'));
  for (const [model, tolerance] of [[shallow, 1e-6], [deep, 1e-5]] as const) {
    const s = await session(model);
    try {
      const tiles: number[][] = [];
      const run = async (tile: Tensor) => {
        tiles.push([...tile.dims]);
        return (await s.run({ image: tile })).upscaled;
      };
      const whole = await upscaleTiled(run, image, { scale: model.arch.scale, unshuffle: 1, tileSize: 512, overlap: 32 });
      assert.equal(tiles.length, 2, 'one tile per image when it fits');
      tiles.length = 0;
      const progress: Array<[number, number]> = [];
      const tiled = await upscaleTiled(run, image, { scale: model.arch.scale, unshuffle: 1, tileSize: 32, overlap: 16, onTile: (d, t) => progress.push([d, t]) });
      assert.ok(tiles.every(([, , h, w]) => h <= 32 && w <= 32), 'no tile is larger than the tile size');
      assert.equal(tiles.length, 2 * tileStarts(70, 32, 16).length * tileStarts(53, 32, 16).length);
      assert.deepEqual(progress.map(([d]) => d), tiles.map((_, i) => i + 1));
      assert.ok(progress.every(([, total]) => total === tiles.length), 'the total covers the whole batch from the first tile');
      const diff = maxAbsDiff(whole.data, tiled.data);
      assert.ok(diff <= tolerance, `${model.arch.kind}: max |tiled - untiled| = ${diff}`);
      if (model === deep) {
        // Without overlap the tile edges show (the network saw zero padding there): the overlap is what hides them.
        const seams = maxAbsDiff(whole.data, (await upscaleTiled(run, image, { scale: 4, unshuffle: 1, tileSize: 32, overlap: 0 })).data);
        assert.ok(seams > 1e-3, `without overlap: ${seams}`);
      }
    } finally {
      await s.release();
    }
  }
});

test('out of memory halves the tile down to 128 px, other errors stop at once', async () => {
  const sizes: number[] = [];
  const fake = async (tile: Tensor): Promise<Tensor> => {
    sizes.push(tile.dims[2]);
    if (tile.dims[2] > 150) throw new Error('Failed to allocate memory for requested buffer of size 123456');
    const [, c, h, w] = tile.dims;
    return { dims: [1, c, h, w], data: tile.data.slice() };
  };
  const image = testImage(1, 300, 300);
  const retries: number[] = [];
  const out = await upscaleTiled(fake, image, { scale: 1, unshuffle: 1, tileSize: 512, overlap: 32, onRetry: (_f, next) => retries.push(next) });
  assert.deepEqual(retries, [256, 128]);
  assert.ok(maxAbsDiff(out.data, image.data) < 1e-6, 'an identity model through the tiles gives the image back');
  await assert.rejects(upscaleTiled(fake, image, { scale: 1, unshuffle: 1, tileSize: 512, overlap: 32, minTileSize: 256 }), /Failed to allocate/);
  const broken = async (): Promise<Tensor> => { throw new Error('shape mismatch'); };
  const calls = sizes.length;
  await assert.rejects(upscaleTiled(broken, image, { scale: 1, unshuffle: 1, tileSize: 512, overlap: 32 }), /shape mismatch/);
  assert.equal(sizes.length, calls);
});
