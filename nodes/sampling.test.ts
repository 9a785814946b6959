// KSampler and KSamplerAdvanced on the sd15-tiny UNet: ComfyUI's inputs, a result identical to the engine's
// sample() with the same options, seeds that matter, progress with previews, and the advanced step range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KSampler, KSamplerAdvanced, samplingNodes } from './sampling.ts';
import { sample, SAMPLER_NAMES } from '../engine/sampling/index.ts';
import { createEpsModel, prepareGuidedUnet } from '../engine/sd/index.ts';
import type { Conditioning, Latent } from '../engine/sd/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { fixtureModels, runtime, withSd } from './sd-test-fixture.ts';

function text(width: number, value: number): Conditioning {
  const data = new Float32Array(77 * width);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + value);
  return [{ embeds: { dims: [1, 77, width], data } }];
}

const empty = (): Latent => ({ samples: makeTensor([1, 4, 4, 4]) });

test('the family has ComfyUI\'s classes, inputs and defaults', () => {
  assert.deepEqual(samplingNodes.map((n) => n.name), ['KSampler', 'KSamplerAdvanced']);
  assert.deepEqual(Object.keys(KSampler.inputs.required), ['model', 'seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'positive', 'negative', 'latent_image', 'denoise']);
  assert.equal(KSampler.inputs.required.cfg.default, 8.0);
  assert.equal(KSampler.inputs.required.steps.default, 20);
  assert.ok(SAMPLER_NAMES.includes('euler') && SAMPLER_NAMES.includes('ddim_diffusers'));
  assert.deepEqual(KSamplerAdvanced.inputs.required.return_with_leftover_noise, { kind: 'COMBO', options: ['disable', 'enable'] });
});

test('KSampler equals the engine\'s sample() with the same options; another seed gives another latent; progress per step', () => withSd(async (t) => {
  const { model } = await fixtureModels();
  const width = model.checkpoint.config.unet.crossAttentionDim;
  const positive = text(width, 1), negative = text(width, 2);
  const ticks: number[] = [];
  t.ctx.progress = (value) => { ticks.push(value); };
  const inputs = { model, seed: 42n, steps: 3, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive, negative, latent_image: empty(), denoise: 1 };
  const node = (await KSampler.run(inputs, t.ctx)).outputs[0] as Latent;
  const unet = await prepareGuidedUnet(runtime(), { model, positive, negative, latentDims: [1, 4, 4, 4] });
  const direct = await sample({ model: createEpsModel(unet), latent: empty().samples, seed: 42n, steps: 3, cfg: 5, sampler: 'euler', scheduler: 'normal', denoise: 1 });
  assert.deepEqual(node.samples.dims, [1, 4, 4, 4]);
  assert.deepEqual(node.samples.data, direct.data);
  assert.deepEqual(ticks, [1, 2, 3]);
  const other = (await KSampler.run({ ...inputs, seed: 43n }, t.ctx)).outputs[0] as Latent;
  assert.notDeepEqual(other.samples.data, node.samples.data);
}, 'KSampler'));

test('KSamplerAdvanced: steps 0…3 of 3 without leftover noise equals KSampler; add_noise disable on zeros differs', () => withSd(async (t) => {
  const { model } = await fixtureModels();
  const width = model.checkpoint.config.unet.crossAttentionDim;
  const positive = text(width, 1), negative = text(width, 2);
  const simple = (await KSampler.run({ model, seed: 7n, steps: 3, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive, negative, latent_image: empty(), denoise: 1 }, t.ctx)).outputs[0] as Latent;
  const advanced = {
    model, add_noise: 'enable', noise_seed: 7n, steps: 3, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive, negative,
    latent_image: empty(), start_at_step: 0, end_at_step: 10000, return_with_leftover_noise: 'disable',
  };
  const full = (await KSamplerAdvanced.run(advanced, t.ctx)).outputs[0] as Latent;
  assert.deepEqual(full.samples.data, simple.samples.data);
  const noiseless = (await KSamplerAdvanced.run({ ...advanced, add_noise: 'disable' }, t.ctx)).outputs[0] as Latent;
  assert.notDeepEqual(noiseless.samples.data, full.samples.data);
}, 'KSamplerAdvanced'));

test('--preview-method: taesd previews are full size from models/vae_approx; without the file latent2rgb with a warning; none sends no preview', async () => {
  const { writeSafetensors } = await import('../engine/onnx/index.ts');
  const { demoTaesdDecoder } = await import('../engine/sd/vae/taesd-demo.ts');
  const { mkdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const sharp = (await import('sharp')).default;
  const saved = process.env.INVGRAPH_PREVIEW_METHOD;
  try {
    await withSd(async (t) => {
      const { model } = await fixtureModels();
      const width = model.checkpoint.config.unet.crossAttentionDim;
      const latent = (): Latent => ({ samples: makeTensor([1, 4, 16, 16]) });
      const sizes = async (method: string): Promise<Array<string | null>> => {
        process.env.INVGRAPH_PREVIEW_METHOD = method;
        const frames: Array<Uint8Array | undefined> = [];
        t.ctx.progress = (_value, _max, preview) => { frames.push(preview?.data); };
        await KSampler.run({ model, seed: 1n, steps: 2, cfg: 5, sampler_name: 'euler', scheduler: 'normal', positive: text(width, 1), negative: text(width, 2), latent_image: latent(), denoise: 1 }, t.ctx);
        return Promise.all(frames.map(async (f) => {
          if (!f) return null;
          const meta = await sharp(f).metadata();
          return `${meta.format} ${meta.width}x${meta.height}`;
        }));
      };
      assert.deepEqual(await sizes('latent2rgb'), ['jpeg 64x64', 'jpeg 64x64'], 'a 16x16 latent cell map, scaled up to the minimum side');
      assert.deepEqual(await sizes('taesd'), ['jpeg 64x64', 'jpeg 64x64'], 'no decoder file: latent2rgb');
      assert.ok(t.logs.some((l) => /TAESD previews are on, but no taesd_decoder\.\* is in .*vae_approx; using latent2rgb previews/.test(l)), t.logs.join('\n'));
      mkdirSync(join(t.folders.models, 'vae_approx'), { recursive: true });
      writeSafetensors(join(t.folders.models, 'vae_approx', 'taesd_decoder.safetensors'), demoTaesdDecoder());
      const taesd = await sizes('taesd');
      assert.equal(taesd.at(-1), 'jpeg 128x128', 'the last step always has its full-size (8x) preview');
      assert.ok(taesd.every((s) => s === null || s === 'jpeg 128x128'), `a slow preview may be skipped, never a small one: ${taesd}`);
      assert.deepEqual(await sizes('none'), [null, null]);
    }, 'KSampler');
  } finally {
    if (saved === undefined) delete process.env.INVGRAPH_PREVIEW_METHOD;
    else process.env.INVGRAPH_PREVIEW_METHOD = saved;
  }
});
