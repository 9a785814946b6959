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
