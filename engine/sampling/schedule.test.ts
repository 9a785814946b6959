import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffusersSchedule, sigmaSchedule, timestepFromSigma, sigmaFromTimestep } from './schedule.ts';
import { schedulerFixture } from './test-fixtures.ts';

test('diffusers float32 betas and alphas_cumprod equal the fixture bit for bit', () => {
  const fixture = schedulerFixture();
  const { betas, alphasCumprod, finalAlphaCumprod } = diffusersSchedule();
  assert.deepEqual([...betas], fixture.betas.data);
  assert.deepEqual([...alphasCumprod], fixture.alphas_cumprod.data);
  assert.equal(finalAlphaCumprod, fixture.ddim['10'].final_alpha_cumprod);
});

test('ComfyUI σ table matches sd15-reference.md §5.1', () => {
  const { sigmas, sigmaMin, sigmaMax } = sigmaSchedule();
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-6 * b + 1e-7, `${a} vs ${b}`);
  close(sigmaMin, 0.0291672);
  close(sigmaMax, 14.614641);
  const table: Array<[number, number]> = [[1, 0.041314], [21, 0.141463], [261, 0.724679], [501, 1.623692], [751, 4.116696], [981, 13.120411]];
  for (const [t, sigma] of table) assert.ok(Math.abs(sigmas[t] - sigma) < 1e-6 * sigma + 5e-7, `t=${t}: ${sigmas[t]}`);
});

test('float64 (ComfyUI) and float32 (diffusers) schedules differ only at the 1e-5 level', () => {
  const { sigmas } = sigmaSchedule();
  const { alphasCumprod } = diffusersSchedule();
  let worst = 0;
  for (let t = 0; t < 1000; t++) {
    const sigma32 = Math.sqrt((1 - alphasCumprod[t]) / alphasCumprod[t]);
    worst = Math.max(worst, Math.abs(sigma32 - sigmas[t]) / sigmas[t]);
  }
  assert.ok(worst > 0 && worst < 2e-5, `worst ${worst}`);
});

test('timestep(σ) is the nearest table index and σ(t) interpolates log σ', () => {
  const { sigmas } = sigmaSchedule();
  for (let t = 0; t < 1000; t++) {
    assert.equal(timestepFromSigma(sigmas[t]), t);
    // exp of the float32 log, as ComfyUI does: within float32 rounding of the table, not equal to it
    assert.ok(Math.abs(sigmaFromTimestep(t) - sigmas[t]) <= 3e-7 * sigmas[t], `t=${t}`);
  }
  const middle = sigmaFromTimestep(500.5);
  assert.ok(Math.abs(middle - Math.sqrt(sigmas[500] * sigmas[501])) < 1e-6);
  assert.equal(timestepFromSigma(Math.sqrt(sigmas[500] * sigmas[501]) * 1.0001), 501);
  assert.equal(sigmaFromTimestep(-5), sigmaFromTimestep(0));
  assert.equal(sigmaFromTimestep(1200), sigmaFromTimestep(999));
});
