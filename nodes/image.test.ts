import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageNodes, loadImage, saveImage, previewImage, imageScale } from './image.ts';
import { createTestContext, type TestContext } from './test-context.ts';
import { makeImageBatch, readPngTextChunks } from '../engine/image/index.ts';
import type { DefinitionEnv } from '../engine/graph/index.ts';

type ComboInputOptions = (env: DefinitionEnv) => string[];
import type { ImageBatch, MaskBatch } from '../engine/image/index.ts';
import { UnsafePathError } from '../engine/files/index.ts';

async function withContext(body: (t: TestContext) => Promise<void>): Promise<void> {
  const context = await createTestContext();
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}

async function writePng(path: string, width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const png = await sharp(Buffer.alloc(width * height * channels, 200), { raw: { width, height, channels } }).png().toBuffer();
  await writeFile(path, png);
  return png;
}

test('the family exports the five nodes with ComfyUI names, categories and outputs', () => {
  const summary = imageNodes.map((n) => [n.name, n.displayName, n.category, n.outputs.map((o) => o.type).join(','), n.outputNode ?? false]);
  assert.deepEqual(summary, [
    ['LoadImage', 'Load Image', 'image', 'IMAGE,MASK', false],
    ['SaveImage', 'Save Image', 'image', '', true],
    ['PreviewImage', 'Preview Image', 'image', '', true],
    ['ImageScale', 'Upscale Image', 'image/upscaling', 'IMAGE', false],
    ['ImageScaleBy', 'Upscale Image By', 'image/upscaling', 'IMAGE', false],
  ]);
  assert.deepEqual(saveImage.inputs.hidden, { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
  assert.equal(loadImage.inputs.required.image.imageUpload, true);
});

test('LoadImage lists top-level image files of the input folder, sorted', () =>
  withContext(async ({ env, folders }) => {
    await writePng(join(folders.input, 'b.png'), 1, 1);
    await writePng(join(folders.input, 'A.jpg'), 1, 1);
    await writeFile(join(folders.input, 'notes.txt'), 'x');
    await mkdir(join(folders.input, 'sub'));
    await writePng(join(folders.input, 'sub', 'c.png'), 1, 1);
    await mkdir(join(folders.input, 'folder.png'));
    const options = loadImage.inputs.required.image.options as ComboInputOptions;
    assert.deepEqual(options(env), ['A.jpg', 'b.png']);
  }));

test('LoadImage validation: existing and annotated files pass, missing and escaping ones fail', () =>
  withContext(async ({ env, folders }) => {
    await writePng(join(folders.input, 'a.png'), 1, 1);
    await mkdir(join(folders.input, 'sub'));
    await writePng(join(folders.input, 'sub', 'c.png'), 1, 1);
    await writePng(join(folders.output, 'out.png'), 1, 1);
    await symlink(join(folders.output, 'out.png'), join(folders.input, 'link.png'));
    const check = (image: unknown) => loadImage.validate!.check({ image }, env);
    assert.equal(await check('a.png'), true);
    assert.equal(await check('sub/c.png'), true);
    assert.equal(await check('out.png [output]'), true);
    assert.equal(await check('a.png [input]'), true);
    assert.equal(await check('missing.png'), 'Invalid image file: missing.png');
    assert.equal(await check('out.png'), 'Invalid image file: out.png');
    assert.equal(await check('sub'), 'Invalid image file: sub');
    assert.equal(await check('a.png/x.png'), 'Invalid image file: a.png/x.png');
    for (const bad of ['../output/out.png', '/etc/passwd', 'link.png', '..\\output\\out.png', '../../etc/passwd [output]', 'sub/../../output/out.png']) {
      const verdict = await check(bad);
      assert.ok(typeof verdict === 'string' && verdict.startsWith(`Invalid image file: ${bad} (Unsafe file name`), `${bad}: ${verdict}`);
    }
  }));

test('LoadImage fingerprint is the SHA-256 of the file and follows its content', () =>
  withContext(async ({ env, folders }) => {
    const png = await writePng(join(folders.input, 'a.png'), 2, 2);
    const first = await loadImage.fingerprint!({ image: 'a.png' }, env);
    assert.equal(first, createHash('sha256').update(png).digest('hex'));
    await writePng(join(folders.input, 'a.png'), 3, 3);
    assert.notEqual(await loadImage.fingerprint!({ image: 'a.png' }, env), first);
  }));

test('LoadImage run decodes IMAGE and MASK and refuses paths outside the input folder', () =>
  withContext(async ({ ctx, folders }) => {
    await writePng(join(folders.input, 'rgba.png'), 3, 2, 4);
    const result = await loadImage.run({ image: 'rgba.png' }, ctx);
    const [image, mask] = result.outputs as [ImageBatch, MaskBatch];
    assert.deepEqual([image.batch, image.height, image.width], [1, 2, 3]);
    assert.deepEqual([mask.height, mask.width], [2, 3]);
    assert.equal(mask.data[0], Math.fround(1 - Math.fround(200 / 255)));
    await writePng(join(folders.output, 'secret.png'), 1, 1);
    await assert.rejects(Promise.resolve(loadImage.run({ image: '../output/secret.png' }, ctx)), UnsafePathError);
    await writeFile(join(folders.input, 'fake.png'), 'not an image');
    await assert.rejects(Promise.resolve(loadImage.run({ image: 'fake.png' }, ctx)), /Image file "fake.png" is not an image we can read/);
  }));

const PROMPT = {
  '3': { inputs: { seed: 18446744073709551615n, cfg: 7.5, model: ['4', 0] }, class_type: 'KSampler' },
  '9': { inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, class_type: 'SaveImage' },
};
const WORKFLOW = { last_node_id: 9, nodes: [{ id: 9, type: 'SaveImage', widgets_values: ['ComfyUI'] }], version: 0.4 };

test('SaveImage writes counter-named PNGs with prompt and workflow chunks and reports them', () =>
  withContext(async ({ ctx, folders }) => {
    const images = makeImageBatch(2, 2, 3);
    images.data.fill(0.5);
    const first = await saveImage.run({ images, filename_prefix: 'ComfyUI', prompt: PROMPT, extra_pnginfo: { workflow: WORKFLOW } }, ctx);
    assert.deepEqual(first, {
      outputs: [],
      ui: { images: [
        { filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' },
        { filename: 'ComfyUI_00002_.png', subfolder: '', type: 'output' },
      ] },
    });
    const png = await readFile(join(folders.output, 'ComfyUI_00001_.png'));
    const text = readPngTextChunks(png);
    assert.deepEqual(Object.keys(text), ['prompt', 'workflow']);
    assert.equal(
      text.prompt,
      '{"3": {"inputs": {"seed": 18446744073709551615, "cfg": 7.5, "model": ["4", 0]}, "class_type": "KSampler"}, ' +
        '"9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage"}}',
    );
    assert.equal(text.workflow, '{"last_node_id": 9, "nodes": [{"id": 9, "type": "SaveImage", "widgets_values": ["ComfyUI"]}], "version": 0.4}');
    const { info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [3, 2]);
    const again = await saveImage.run({ images: makeImageBatch(1, 1, 1), filename_prefix: 'ComfyUI', prompt: PROMPT, extra_pnginfo: undefined }, ctx);
    assert.deepEqual(again.ui, { images: [{ filename: 'ComfyUI_00003_.png', subfolder: '', type: 'output' }] });
    assert.deepEqual(Object.keys(readPngTextChunks(await readFile(join(folders.output, 'ComfyUI_00003_.png')))), ['prompt']);
  }));

test('SaveImage prefix with subfolders and tokens stays inside the output folder', () =>
  withContext(async ({ ctx, folders }) => {
    const images = makeImageBatch(1, 4, 6);
    const result = await saveImage.run({ images, filename_prefix: 'faces/%width%x%height%/me', prompt: {}, extra_pnginfo: undefined }, ctx);
    assert.deepEqual(result.ui, { images: [{ filename: 'me_00001_.png', subfolder: 'faces/6x4', type: 'output' }] });
    assert.deepEqual(await readdir(join(folders.output, 'faces', '6x4')), ['me_00001_.png']);
    await assert.rejects(Promise.resolve(saveImage.run({ images, filename_prefix: '../escaped', prompt: {}, extra_pnginfo: undefined }, ctx)), UnsafePathError);
    await assert.rejects(Promise.resolve(saveImage.run({ images, filename_prefix: '/tmp/abs', prompt: {}, extra_pnginfo: undefined }, ctx)), UnsafePathError);
    assert.deepEqual(await readdir(folders.output), ['faces']);
  }));

test('PreviewImage writes to temp with a ComfyUI_temp_xxxxx prefix and type "temp"', () =>
  withContext(async ({ ctx, folders }) => {
    const result = await previewImage.run({ images: makeImageBatch(1, 2, 2), prompt: PROMPT, extra_pnginfo: { workflow: WORKFLOW } }, ctx);
    const [entry] = result.ui!.images as Array<{ filename: string; subfolder: string; type: string }>;
    assert.match(entry.filename, /^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    assert.deepEqual([entry.subfolder, entry.type], ['', 'temp']);
    assert.deepEqual(await readdir(folders.temp), [entry.filename]);
    assert.deepEqual(await readdir(folders.output), []);
    assert.ok('workflow' in readPngTextChunks(await readFile(join(folders.temp, entry.filename))));
  }));

test('ImageScale run: methods, aspect from a 0 side, centre crop', () =>
  withContext(async ({ ctx }) => {
    const image = makeImageBatch(1, 50, 100);
    const scale = async (upscale_method: string, width: number, height: number, crop: string) =>
      ((await imageScale.run({ image, upscale_method, width, height, crop }, ctx)).outputs[0] as ImageBatch);
    for (const method of ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']) {
      const out = await scale(method, 0, 20, 'disabled');
      assert.deepEqual([out.width, out.height], [40, 20], method);
    }
    const cropped = await scale('bilinear', 64, 64, 'center');
    assert.deepEqual([cropped.width, cropped.height], [64, 64]);
    assert.equal(await scale('area', 0, 0, 'disabled'), image);
    assert.deepEqual(imageScale.inputs.required.width, { kind: 'INT', default: 512, min: 0, max: 16384, step: 1 });
  }));

test('SaveImage run again for the same prompt and node (after a crash) overwrites its own files instead of adding more', () =>
  withContext(async ({ ctx, folders }) => {
    const images = makeImageBatch(2, 2, 3);
    const pngs = async () => (await readdir(folders.output)).filter((f) => f.endsWith('.png')).sort();
    // First run dies between the first and second image (the process was killed).
    let checks = 0;
    const dying = { ...ctx, promptId: 'p1', nodeId: '9', throwIfInterrupted: () => {
      if (++checks === 2) throw new Error('killed');
    } };
    await assert.rejects(Promise.resolve(saveImage.run({ images, filename_prefix: 'ComfyUI', prompt: {}, extra_pnginfo: undefined }, dying)), /killed/);
    assert.deepEqual(await pngs(), ['ComfyUI_00001_.png']);
    // The rerun after restart: the same names, the first one reused.
    const rerun = await saveImage.run({ images, filename_prefix: 'ComfyUI', prompt: {}, extra_pnginfo: undefined }, { ...ctx, promptId: 'p1', nodeId: '9' });
    assert.deepEqual(rerun.ui?.images.map((i) => (i as { filename: string }).filename), ['ComfyUI_00001_.png', 'ComfyUI_00002_.png']);
    const again = await saveImage.run({ images, filename_prefix: 'ComfyUI', prompt: {}, extra_pnginfo: undefined }, { ...ctx, promptId: 'p1', nodeId: '9' });
    assert.deepEqual(again.ui, rerun.ui);
    assert.deepEqual(await pngs(), ['ComfyUI_00001_.png', 'ComfyUI_00002_.png']);
    // Another prompt, or another save node of the same prompt, counts on as ComfyUI does.
    const other = await saveImage.run({ images: makeImageBatch(1, 1, 1), filename_prefix: 'ComfyUI', prompt: {}, extra_pnginfo: undefined }, { ...ctx, promptId: 'p2', nodeId: '9' });
    assert.deepEqual(other.ui?.images.map((i) => (i as { filename: string }).filename), ['ComfyUI_00003_.png']);
    const otherNode = await saveImage.run({ images: makeImageBatch(1, 1, 1), filename_prefix: 'ComfyUI', prompt: {}, extra_pnginfo: undefined }, { ...ctx, promptId: 'p1', nodeId: '10' });
    assert.deepEqual(otherNode.ui?.images.map((i) => (i as { filename: string }).filename), ['ComfyUI_00004_.png']);
  }));
