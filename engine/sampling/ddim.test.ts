import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ddimMove } from './ddim-step.ts';
import { ddimLevels } from './ddim.ts';
import { sample } from './sample.ts';
import { invertDdim } from './ddim-inversion.ts';
import { gaussianNoise } from './noise.ts';
import type { ModelCall } from './model.ts';
import { schedulerFixture, toF32, readSafetensors } from './test-fixtures.ts';

// Float32 operations in torch's order: the fixture's single steps come out bit-identical.
test('single DDIM and DDIM-inverse steps match the fixture bit for bit', () => {
  const fixture = schedulerFixture();
  for (const steps of ['10', '20', '50']) {
    for (const s of fixture.ddim[steps].steps) {
      const { next } = ddimMove(toF32(s.x_t!), toF32(s.eps), s.alpha_prod_t!, s.alpha_prod_t_prev!);
      assert.deepEqual([...next], s.x_prev!.data, `ddim ${steps} ${s.which}`);
    }
    for (const s of fixture.ddim_inverse[steps].steps) {
      const { next } = ddimMove(toF32(s.x!), toF32(s.eps), s.alpha_prod_from!, s.alpha_prod_to!);
      assert.deepEqual([...next], s.x_next!.data, `inverse ${steps} ${s.which}`);
    }
  }
});

/** Model replaying the fixture's recorded ε rows, checking what the sampler sends it. */
function replayModel(
  calls: ModelCall[],
  rows: (index: number) => Float32Array,
): (call: ModelCall) => Promise<Float32Array> {
  return async (call) => {
    calls.push(call);
    return rows(call.step.index);
  };
}

// With the recorded UNet outputs replayed, guidance and the DDIM update reproduce diffusers bit for bit.
test('ddim_diffusers reproduces the fixture text-to-image loop (10 steps, CFG 7.5, batch 2)', async () => {
  const pipeline = readSafetensors('pipeline.safetensors');
  const step = 2 * 4 * 8 * 8;
  const uncond = pipeline.get('noise_pred_uncond')!.data;
  const text = pipeline.get('noise_pred_text')!.data;
  const latents = pipeline.get('latents')!.data;
  const calls: ModelCall[] = [];
  const seen: Float32Array[] = [];
  const model = replayModel(calls, (i) => {
    const out = new Float32Array(2 * step); // rows [uncond ×2, cond ×2]
    out.set(uncond.subarray(i * step, (i + 1) * step), 0);
    out.set(text.subarray(i * step, (i + 1) * step), step);
    return out;
  });
  const initial = pipeline.get('initial_noise')!;
  const result = await sample({
    model,
    latent: { dims: initial.dims, data: initial.data },
    sampler: 'ddim_diffusers',
    scheduler: 'ddim_uniform',
    steps: 10,
    cfg: 7.5,
    seed: 0n,
    addNoise: false,
    onStep: (p) => seen.push(p.x),
  });
  const timesteps = [...pipeline.get('timesteps')!.data];
  assert.deepEqual(calls.map((c) => c.timestep), timesteps);
  for (const [i, call] of calls.entries()) {
    assert.equal(call.guidance, 'uncond+cond');
    assert.deepEqual(call.dims, [4, 4, 8, 8]);
    assert.deepEqual(call.sample.subarray(0, step), call.sample.subarray(step), 'both halves carry the same latents');
    assert.deepEqual(call.sample.subarray(0, step), seen[i]);
    if (i > 0) assert.deepEqual(seen[i], latents.slice((i - 1) * step, i * step), `latent before step ${i}`);
  }
  assert.deepEqual(result.data, latents.slice(9 * step));
});

test('invertDdim reproduces the fixture inversion run (10 steps, guidance 1, conditional rows only)', async () => {
  const pipeline = readSafetensors('pipeline.safetensors');
  const size = 4 * 8 * 8;
  const noisePred = pipeline.get('inversion_noise_pred')!.data;
  const expected = pipeline.get('inversion_latents')!.data;
  const calls: ModelCall[] = [];
  const model = replayModel(calls, (i) => noisePred.slice(i * size, (i + 1) * size));
  const result = await invertDdim({
    model,
    latent: { dims: [1, 4, 8, 8], data: expected.slice(0, size) },
    steps: 10,
    cfg: 1,
  });
  assert.deepEqual(result.timesteps, [...pipeline.get('inversion_timesteps')!.data]);
  assert.deepEqual(calls.map((c) => c.timestep), result.timesteps);
  assert.ok(calls.every((c) => c.guidance === 'cond' && c.dims[0] === 1));
  assert.equal(result.latents.length, 11);
  result.latents.forEach((latent, i) => {
    assert.deepEqual(latent.data, expected.slice(i * size, (i + 1) * size), `latent ${i}`);
  });
});

test('ddim_diffusers txt2img starts from x_T = noise; img2img adds noise at the first kept timestep', async () => {
  const dims = [1, 4, 2, 2];
  const first: ModelCall[] = [];
  const model = async (call: ModelCall) => {
    first.push(call);
    return new Float32Array(call.sample.length);
  };
  const latent = { dims, data: new Float32Array(16).fill(0.5) };
  await sample({ model, latent: { dims, data: new Float32Array(16) }, sampler: 'ddim_diffusers', scheduler: 'normal', steps: 10, cfg: 1, seed: 5n });
  assert.deepEqual(first[0].sample, gaussianNoise(5n, dims));
  first.length = 0;
  await sample({ model, latent, sampler: 'ddim_diffusers', scheduler: 'normal', steps: 10, cfg: 1, seed: 5n, denoise: 0.5 });
  assert.equal(first.length, 5);
  assert.equal(first[0].timestep, 401);
  const alpha = first[0].sigma ** -2 / (1 + first[0].sigma ** -2); // ᾱ from σ
  const noise = gaussianNoise(5n, dims);
  first[0].sample.forEach((v, i) => assert.ok(Math.abs(v - (Math.sqrt(alpha) * 0.5 + Math.sqrt(1 - alpha) * noise[i])) < 1e-5));
});

test('ddim_diffusers levels: strength, start/end, leftover noise', () => {
  const FINAL = -1;
  const full = { forceFullDenoise: true };
  assert.deepEqual(ddimLevels(10, 1, full), [901, 801, 701, 601, 501, 401, 301, 201, 101, 1, FINAL]);
  assert.deepEqual(ddimLevels(10, 0.35, full), [201, 101, 1, FINAL]);
  assert.deepEqual(ddimLevels(10, 0.05, full), []);
  assert.deepEqual(ddimLevels(10, 1, { endStep: 3, forceFullDenoise: true }), [901, 801, 701, FINAL]);
  assert.deepEqual(ddimLevels(10, 1, { endStep: 3, forceFullDenoise: false }), [901, 801, 701, 601]);
  assert.deepEqual(ddimLevels(10, 1, { startStep: 8, forceFullDenoise: true }), [101, 1, FINAL]);
  assert.deepEqual(ddimLevels(10, 1, { startStep: 10, forceFullDenoise: true }), []);
  assert.throws(() => ddimLevels(1000, 1, full), /at most 999 steps/);
});
