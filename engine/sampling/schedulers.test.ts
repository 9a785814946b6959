import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSigmas, sliceSigmas } from './sigmas.ts';
import { ddimTimesteps, ddimInverseTimesteps, SCHEDULER_NAMES } from './schedulers.ts';
import { sigmaSchedule, timestepFromSigma } from './schedule.ts';
import { betaCdf, betaPpf } from './beta-distribution.ts';
import { schedulerFixture } from './test-fixtures.ts';

/** Compares to the 4 decimals sd15-reference.md prints. */
function assertRounded(actual: Float32Array, expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  expected.forEach((value, i) => assert.ok(Math.abs(actual[i] - value) <= 5.01e-5, `${label}[${i}]: ${actual[i]} vs ${value}`));
}

test('10-step schedules equal the examples of sd15-reference.md §5.8', () => {
  const examples: Record<string, number[]> = {
    normal: [14.6146, 7.8399, 4.6092, 2.9183, 1.9502, 1.3449, 0.9324, 0.625, 0.3687, 0.0292, 0],
    karras: [14.6146, 9.1029, 5.4784, 3.1686, 1.7494, 0.9141, 0.4469, 0.2014, 0.0819, 0.0292, 0],
    exponential: [14.6146, 7.3249, 3.6712, 1.84, 0.9222, 0.4622, 0.2317, 0.1161, 0.0582, 0.0292, 0],
    simple: [14.6146, 8.3028, 5.0878, 3.3211, 2.2765, 1.6129, 1.1606, 0.8299, 0.5693, 0.3417, 0],
    ddim_uniform: [8.3907, 5.1344, 3.3478, 2.2929, 1.6237, 1.1682, 0.8357, 0.5741, 0.3462, 0.0413, 0],
    sgm_uniform: [14.6146, 8.3072, 5.0924, 3.3251, 2.2797, 1.6156, 1.1629, 0.8319, 0.5712, 0.3437, 0],
  };
  for (const [name, expected] of Object.entries(examples)) assertRounded(computeSigmas(name, 10), expected, name);
  const unetTimesteps = (name: string) => [...computeSigmas(name, 10)].slice(0, -1).map((s) => timestepFromSigma(s));
  assert.deepEqual(unetTimesteps('normal'), [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
  assert.deepEqual(unetTimesteps('karras'), [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]);
});

test('denoise keeps the tail of a longer schedule (§5.9 example)', () => {
  assertRounded(computeSigmas('normal', 10, 0.5), [1.4806, 1.2458, 1.0481, 0.8784, 0.7297, 0.5964, 0.4736, 0.3555, 0.2322, 0.0292, 0], 'normal 0.5');
  assert.equal(computeSigmas('normal', 10, 0).length, 0);
  assert.deepEqual(computeSigmas('karras', 7, 0.99995), computeSigmas('karras', 7));
});

test('ddim_uniform returns more steps than asked when 1000 % steps ≠ 0, as ComfyUI does', () => {
  const thirty = computeSigmas('ddim_uniform', 30);
  assert.equal(thirty.length, 32);
  assert.equal(timestepFromSigma(thirty[0]), 991);
  const seven = computeSigmas('ddim_uniform', 7);
  assert.equal(seven.length, 9);
  assert.equal(timestepFromSigma(seven[0]), 995);
});

test('dpm_2 builds steps + 1 and drops the penultimate σ', () => {
  const plain = computeSigmas('karras', 11);
  const dpm2 = computeSigmas('karras', 10, 1, 'dpm_2');
  assert.equal(dpm2.length, 11);
  assert.deepEqual([...dpm2], [...plain.subarray(0, 10), 0]);
});

test('every scheduler gives a descending list that ends in 0', () => {
  for (const name of SCHEDULER_NAMES) {
    for (const steps of [2, 5, 20, 33]) {
      const sigmas = computeSigmas(name, steps);
      assert.ok(sigmas.length >= steps, `${name} ${steps}`);
      assert.equal(sigmas[sigmas.length - 1], 0, `${name} ${steps}`);
      for (let i = 1; i < sigmas.length; i++) assert.ok(sigmas[i] < sigmas[i - 1], `${name} ${steps} at ${i}`);
    }
  }
});

test('linear_quadratic follows the Mochi formula (hand-computed for 4 steps)', () => {
  const { sigmaMax } = sigmaSchedule();
  const expected = [1, 0.9875, 0.975, 0.725, 0].map((x) => Math.fround(x) * sigmaMax);
  computeSigmas('linear_quadratic', 4).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `${i}: ${v}`));
  assert.deepEqual([...computeSigmas('linear_quadratic', 1)], [Math.fround(sigmaMax), 0]);
});

test('kl_optimal interpolates atan σ; one step is refused (ComfyUI would divide by zero)', () => {
  const { sigmaMin, sigmaMax } = sigmaSchedule();
  const sigmas = computeSigmas('kl_optimal', 5);
  assert.ok(Math.abs(sigmas[0] - sigmaMax) < 1e-5 && Math.abs(sigmas[4] - sigmaMin) < 1e-7);
  const middle = Math.tan((Math.atan(sigmaMin) + Math.atan(sigmaMax)) / 2);
  assert.ok(Math.abs(sigmas[2] - middle) < 1e-5);
  assert.throws(() => computeSigmas('kl_optimal', 1), /at least 2 steps/);
});

test('Beta quantiles match closed forms; the beta schedule is symmetric for α = β', () => {
  for (const p of [0.01, 0.1, 0.37, 0.5, 0.9, 0.999]) {
    assert.ok(Math.abs(betaPpf(p, 1, 1) - p) < 1e-12); // uniform
    assert.ok(Math.abs(betaPpf(p, 2, 1) - Math.sqrt(p)) < 1e-12); // CDF x²
    assert.ok(Math.abs(betaPpf(p, 0.5, 0.5) - Math.sin((Math.PI * p) / 2) ** 2) < 1e-12); // arcsine law
    assert.ok(Math.abs(betaCdf(betaPpf(p, 0.6, 0.6), 0.6, 0.6) - p) < 1e-12);
  }
  const timesteps = [...computeSigmas('beta', 10)].slice(0, -1).map((s) => timestepFromSigma(s));
  assert.equal(timesteps[0], 999);
  for (let i = 1; i < 5; i++) assert.equal(timesteps[i] + timesteps[10 - i], 999, `pair ${i}`);
  assert.equal(timesteps[5], 500); // quantile 0.5 → 499.5, rounded half to even like numpy.rint
});

test('diffusers DDIM and DDIM-inverse timesteps equal the fixture', () => {
  const fixture = schedulerFixture();
  for (const steps of [10, 20, 50]) {
    assert.deepEqual(ddimTimesteps(steps), fixture.ddim[String(steps)].timesteps);
    assert.deepEqual(ddimInverseTimesteps(steps), fixture.ddim_inverse[String(steps)].timesteps);
  }
  assert.deepEqual(ddimTimesteps(20).slice(0, 3), [951, 901, 851]);
});

test('KSamplerAdvanced slicing: end forces σ = 0 unless leftover noise is kept; start past the end is empty', () => {
  const sigmas = computeSigmas('normal', 10);
  const head = sliceSigmas(sigmas, { endStep: 4, forceFullDenoise: true });
  assert.deepEqual([...head], [...sigmas.subarray(0, 4), 0]);
  const leftover = sliceSigmas(sigmas, { endStep: 4, forceFullDenoise: false });
  assert.deepEqual([...leftover], [...sigmas.subarray(0, 5)]);
  assert.deepEqual([...sliceSigmas(sigmas, { startStep: 4, forceFullDenoise: true })], [...sigmas.subarray(4)]);
  assert.equal(sliceSigmas(sigmas, { startStep: 10, forceFullDenoise: true }).length, 0);
  assert.deepEqual(sliceSigmas(sigmas, { startStep: 0, endStep: 10000, forceFullDenoise: true }), sigmas);
});

test('bad scheduler names, steps and denoise values are user errors naming the value', () => {
  assert.throws(() => computeSigmas('linear', 10), /unknown scheduler "linear"; choose one of simple/);
  assert.throws(() => computeSigmas('normal', 0), /steps must be an integer from 1 to 10000, got 0/);
  assert.throws(() => computeSigmas('normal', 2.5), /got 2.5/);
  assert.throws(() => computeSigmas('normal', 10, 1.5), /denoise must be between 0 and 1, got 1.5/);
  assert.throws(() => computeSigmas('normal', 10, Number.NaN), /got NaN/);
  assert.throws(() => computeSigmas('normal', 100, 0.0001), /needs a 1000000-step schedule/);
});
