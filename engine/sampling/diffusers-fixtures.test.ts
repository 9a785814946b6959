// The k-diffusion euler and dpmpp_2m loops against diffusers' EulerDiscrete / DPMSolverMultistep
// trajectories in scheduler.json (same σ lists, same fake model), README "scheduler.json".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWithSigmas } from './sample.ts';
import type { ModelCall } from './model.ts';
import { schedulerFixture, toF32, relativeError } from './test-fixtures.ts';
import { diffusersSchedule, sigmaFromAlphaCumprod } from './schedule.ts';
import { karrasSigmas, ddimTimesteps } from './schedulers.ts';

const SIZE = 4 * 8 * 8;

/** The fixture's fake model, eps = 0.1·x_in + 0.01·t/1000, with t = the diffusers timestep of the step. */
function fakeModel(timesteps: Float32Array, seenEps: Float32Array[]) {
  return async (call: ModelCall) => {
    const t = timesteps[call.step.index];
    const eps = call.sample.map((v) => Math.fround(Math.fround(0.1 * v) + Math.fround((0.01 * t) / 1000)));
    seenEps.push(eps);
    return eps;
  };
}

async function runTrajectory(key: string, sampler: 'euler' | 'dpmpp_2m', vpSpace: boolean): Promise<void> {
  const [group, count] = key.split('/') as ['euler' | 'dpmpp_2m', string];
  const fixture = schedulerFixture()[group][count];
  const sigmas = toF32(fixture.sigmas);
  const trajectory = toF32(fixture.trajectory);
  // DPM-Solver works in DDPM space (x_vp); the k-diffusion state is x_vp·√(σ² + 1).
  const toVe = (data: Float32Array, sigma: number) => (vpSpace ? data.map((v) => v * Math.sqrt(sigma * sigma + 1)) : data);
  const seenEps: Float32Array[] = [];
  const steps: Float32Array[] = [];
  const result = await sampleWithSigmas({
    model: fakeModel(toF32(fixture.timesteps), seenEps),
    cfg: 1,
    latent: { dims: [1, 4, 8, 8], data: toVe(trajectory.slice(0, SIZE), sigmas[0]) },
    sampler,
    sigmas,
    noise: undefined,
    seed: 0n,
    onStep: (p) => steps.push(p.x),
  });
  steps.push(result.data);
  const eps = toF32(fixture.eps);
  for (let i = 0; i <= 20; i++) {
    const expected = toVe(trajectory.subarray(i * SIZE, (i + 1) * SIZE), sigmas[i]);
    const error = relativeError(steps[i], expected);
    assert.ok(error < 2e-6, `${key} x after ${i} steps: ${error}`);
    if (i < 20) assert.ok(relativeError(seenEps[i], eps.subarray(i * SIZE, (i + 1) * SIZE)) < 2e-6, `${key} eps ${i}`);
  }
}

// Tolerance 2e-6 (measured ≤ 4e-7): diffusers runs the same update in float32 with a different operation order
// (and DPM-Solver in DDPM variables), so the last bits drift over 20 steps.
test('euler over the diffusers plain schedule follows the EulerDiscreteScheduler trajectory', () => runTrajectory('euler/20', 'euler', false));
test('euler over the diffusers Karras schedule follows its trajectory', () => runTrajectory('euler/20_karras', 'euler', false));
test('dpmpp_2m follows the DPMSolverMultistep (dpmsolver++, 2M, midpoint) trajectory', () => runTrajectory('dpmpp_2m/20', 'dpmpp_2m', true));

test('the fixture Euler / DPM++ σ lists: σ of the float32 ᾱ at the leading timesteps, and Karras (ρ 7) between them', () => {
  const fixture = schedulerFixture();
  const { alphasCumprod } = diffusersSchedule();
  const plain = toF32(fixture.euler['20'].sigmas);
  const expected = [...ddimTimesteps(20).map((t) => sigmaFromAlphaCumprod(alphasCumprod[t])), 0];
  assert.ok(relativeError(plain, expected) < 1e-6, `plain ${relativeError(plain, expected)}`);
  // diffusers' Karras spans its own schedule's σ range; ComfyUI's karras (same formula) the model's full range
  const karras = toF32(fixture.euler['20_karras'].sigmas);
  const ours = karrasSigmas(20, plain[19], plain[0]);
  assert.ok(relativeError(ours, karras) < 1e-6, `karras ${relativeError(ours, karras)}`);
  const dpm = fixture.dpmpp_2m['20'];
  const dpmExpected = [...toF32(dpm.timesteps)].map((t) => sigmaFromAlphaCumprod(alphasCumprod[t]));
  assert.ok(relativeError(toF32(dpm.sigmas).subarray(0, 20), dpmExpected) < 1e-6, 'dpm++ σ');
});
