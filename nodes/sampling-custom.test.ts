// The custom-sampling nodes' ComfyUI inputs and defaults, and the σ-list nodes' arithmetic. Sampling through
// them on the demo model is checked end to end in test/cli/sampler-custom.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicScheduler, KSamplerSelect, SplitSigmas, SamplerCustom, SamplerCustomAdvanced, CFGGuider, BasicGuider, RandomNoise, samplingCustomNodes } from './sampling-custom.ts';
import { SAMPLER_NAMES, computeSigmas, gaussianNoise } from '../engine/sampling/index.ts';
import type { SdModel } from '../engine/sd/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { createTestContext } from './test-context.ts';

test('the family has ComfyUI\'s classes, inputs and defaults', () => {
  assert.deepEqual(samplingCustomNodes.map((n) => n.name).sort(), [
    'BasicGuider', 'BasicScheduler', 'CFGGuider', 'DisableNoise', 'KSamplerSelect', 'RandomNoise', 'SamplerCustom', 'SamplerCustomAdvanced', 'SplitSigmas',
  ]);
  assert.deepEqual(Object.keys(SamplerCustom.inputs.required), ['model', 'add_noise', 'noise_seed', 'cfg', 'positive', 'negative', 'sampler', 'sigmas', 'latent_image']);
  assert.deepEqual(Object.keys(SamplerCustomAdvanced.inputs.required), ['noise', 'guider', 'sampler', 'sigmas', 'latent_image']);
  assert.deepEqual(SamplerCustom.outputs.map((o) => o.name), ['output', 'denoised_output']);
  assert.equal(SamplerCustom.inputs.required.add_noise.default, true);
  assert.equal(CFGGuider.inputs.required.cfg.default, 8.0);
  assert.deepEqual(Object.keys(BasicScheduler.inputs.required), ['model', 'scheduler', 'steps', 'denoise']);
  assert.equal(BasicScheduler.inputs.required.steps.default, 20);
  assert.equal(SplitSigmas.inputs.required.step.default, 0);
  // KSampler's list without diffusers' DDIM (it has no σ list to follow), in the same order
  assert.deepEqual(KSamplerSelect.inputs.required.sampler_name.options, SAMPLER_NAMES.filter((n) => n !== 'ddim_diffusers'));
});

test('BasicScheduler is KSampler\'s σ list; SplitSigmas shares the split σ; RandomNoise is KSampler\'s noise', async () => {
  const context = await createTestContext({ classType: 'BasicScheduler' });
  try {
    const model = {} as SdModel; // the SD1.5 schedule does not depend on the weights
    const sigmas = (await BasicScheduler.run({ model, scheduler: 'karras', steps: 6, denoise: 0.5 }, context.ctx)).outputs[0] as Float32Array;
    assert.deepEqual(sigmas, computeSigmas('karras', 6, 0.5));
    assert.equal(sigmas.length, 7);
    assert.equal(((await BasicScheduler.run({ model, scheduler: 'normal', steps: 6, denoise: 0 }, context.ctx)).outputs[0] as Float32Array).length, 0);
    const [high, low] = (await SplitSigmas.run({ sigmas, step: 2 }, context.ctx)).outputs as Float32Array[];
    assert.deepEqual([...high], [...sigmas.slice(0, 3)]);
    assert.deepEqual([...low], [...sigmas.slice(2)]);
    const [all, none] = (await SplitSigmas.run({ sigmas, step: 50 }, context.ctx)).outputs as Float32Array[];
    assert.equal(all.length, 7);
    assert.equal(none.length, 0);
    const noise = (await RandomNoise.run({ noise_seed: 5n }, context.ctx)).outputs[0] as { seed: bigint; generate(l: unknown): Float32Array };
    assert.equal(noise.seed, 5n);
    assert.deepEqual(noise.generate({ samples: makeTensor([1, 4, 2, 2]) }), gaussianNoise(5n, [1, 4, 2, 2]));
  } finally {
    await context.dispose();
  }
});

test('KSamplerSelect offers the CFG++ samplers; with BasicGuider (no unconditional branch) they are refused', async () => {
  const options = KSamplerSelect.inputs.required.sampler_name.options as readonly string[];
  assert.ok(options.includes('euler_cfg_pp') && options.includes('euler_ancestral_cfg_pp'));
  assert.equal(options.indexOf('euler_cfg_pp'), options.indexOf('euler') + 1);
  const context = await createTestContext({ classType: 'SamplerCustomAdvanced' });
  try {
    const model = {} as SdModel;
    const guider = (await BasicGuider.run({ model, conditioning: [] }, context.ctx)).outputs[0];
    const inputs = {
      noise: (await RandomNoise.run({ noise_seed: 1n }, context.ctx)).outputs[0],
      guider,
      sampler: { name: 'euler_cfg_pp' },
      sigmas: computeSigmas('normal', 2),
      latent_image: { samples: makeTensor([1, 4, 2, 2]) },
    } as never;
    await assert.rejects(async () => SamplerCustomAdvanced.run(inputs, context.ctx), /euler_cfg_pp needs an unconditional prediction, and BasicGuider has none; use CFGGuider/);
  } finally {
    await context.dispose();
  }
});
