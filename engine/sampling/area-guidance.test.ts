// Area composition against ComfyUI's formulas (comfy/samplers.py get_area_and_mult, calc_cond_batch) on a toy
// model whose denoised prediction is a known constant per conditioning entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { areaAndMult, areaDenoised, type GuidanceConds } from './area-guidance.ts';
import { guidedDenoised, type ModelCall } from './model.ts';
import { callChunks } from './model-call.ts';

/** A model whose ε makes the denoised value of every row of entry k of a branch equal values[branch][k]. */
function constantModel(values: { cond: number[]; uncond: number[] }, calls: ModelCall[] = []) {
  return async (call: ModelCall): Promise<Float32Array> => {
    calls.push(call);
    const chunks = callChunks(call);
    const per = call.sample.length / chunks.length;
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    return call.sample.map((v, i) => {
      const chunk = chunks[Math.floor(i / per)];
      return (v * scale - values[chunk.branch][chunk.entry]) / call.sigma;
    });
  };
}

const level = { sigma: 2, timestep: 700 };
const step = { index: 0, total: 1 };
const fade = (t: number, rr: number) => Math.fround((1 / rr) * (t + 1));

test('get_area_and_mult: strength, and an 8-cell fade only at area borders inside the latent', () => {
  const dims = [1, 4, 32, 32];
  const { area, mult } = areaAndMult({ area: { height: 16, width: 16, y: 8, x: 0 }, strength: 2 }, dims, 1) ?? assert.fail();
  assert.deepEqual(area, { height: 16, width: 16, y: 8, x: 0 });
  const expected = (i: number, j: number) => {
    let m = 2;
    // rr = min(8, 16 // 4) = 4 cells of fade
    if (i < 4) m *= fade(i, 4); // top edge at y 8 (inside)
    if (i >= 12) m *= fade(15 - i, 4); // bottom edge at 24 < 32
    if (j >= 12) m *= fade(15 - j, 4); // right edge at 16 < 32; left edge is the latent's: no fade
    return m;
  };
  for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) assert.ok(Math.abs(mult[i * 16 + j] - expected(i, j)) < 1e-6, `${i},${j}: ${mult[i * 16 + j]} vs ${expected(i, j)}`);
  assert.equal(mult[0], Math.fround(2 * 0.25));
  assert.equal(mult[7 * 16], 2);

  // Small areas fade over size // 4 cells; an area past the edge is clipped to the latent.
  const small = areaAndMult({ area: { height: 8, width: 40, y: 28, x: 4 } }, dims, 1) ?? assert.fail();
  assert.deepEqual(small.area, { height: 4, width: 28, y: 28, x: 4 });
  // Top edge at y 28: rr = 4 // 4 = 1, row 0 × 1/1; left edge at x 4: rr = 28 // 4 = 7, column t × (t+1)/7.
  assert.equal(small.mult[0], fade(0, 7));
  assert.equal(small.mult[3], fade(3, 7));
  assert.equal(small.mult[10], 1);
  assert.throws(() => areaAndMult({ area: { height: 8, width: 8, y: 40, x: 0 } }, dims, 1), /outside/);
});

test('get_area_and_mult: a mask (× mask strength × strength) replaces the fade; σ outside the range skips the entry', () => {
  const dims = [2, 4, 4, 4];
  const mask = new Float32Array(16).map((_, i) => i / 16);
  const { mult } = areaAndMult({ area: { height: 2, width: 2, y: 1, x: 1 }, mask: { batch: 1, data: mask }, maskStrength: 0.5, strength: 3 }, dims, 1) ?? assert.fail();
  const expected = [5, 6, 9, 10].map((k) => Math.fround(Math.fround((k / 16) * 0.5) * 3));
  assert.deepEqual([...mult], [...expected, ...expected], 'both batch items use the one mask');
  const range = { sigmaRange: { high: 5, low: 1 } };
  assert.equal(areaAndMult(range, dims, 5.01), undefined);
  assert.equal(areaAndMult(range, dims, 0.99), undefined);
  assert.ok(areaAndMult(range, dims, 5));
  assert.ok(areaAndMult(range, dims, 1));
});

test('calc_cond_batch: predictions summed × mult and divided by the summed mults; uncovered cells predict 0', async () => {
  const dims = [1, 1, 16, 32];
  const conds: GuidanceConds = {
    cond: [{ area: { height: 16, width: 16, y: 0, x: 0 } }, { area: { height: 16, width: 16, y: 0, x: 16 }, strength: 0.5 }, {}],
    uncond: [{ area: { height: 16, width: 8, y: 0, x: 0 } }],
  };
  const values = { cond: [1, 5, -2], uncond: [7] };
  const calls: ModelCall[] = [];
  const x = new Float32Array(16 * 32).map((_, i) => Math.sin(i));
  const { cond, uncond } = await areaDenoised({ model: constantModel(values, calls), prediction: 'eps', conds, withUncond: true, dims, step }, x, level);
  // The two 16×16 cond areas and the 16×8 uncond area: two crop sizes besides the full one → three calls.
  assert.equal(calls.length, 3);
  assert.deepEqual(calls[0].chunks, [{ branch: 'cond', entry: 0 }, { branch: 'cond', entry: 1 }]);
  assert.deepEqual(calls[0].dims, [2, 1, 16, 16]);
  const left = (j: number) => (j >= 12 ? fade(15 - j, 4) : 1); // first area: right edge inside (rr = 16 // 4)
  const right = (j: number) => 0.5 * (j - 16 < 4 ? fade(j - 16, 4) : 1); // second: left edge inside
  for (const j of [0, 5, 9, 12, 14, 15, 16, 17, 20, 31]) {
    const weights = [j < 16 ? left(j) : 0, j >= 16 ? right(j) : 0, 1];
    const want = (weights[0] * 1 + weights[1] * 5 + weights[2] * -2) / (weights[0] + weights[1] + weights[2]);
    assert.ok(Math.abs(cond[3 * 32 + j] - want) < 1e-5, `cond column ${j}: ${cond[3 * 32 + j]} vs ${want}`);
    const uncondWant = j < 8 ? 7 : 0; // 8 wide → fade over 2 columns at its inner edge (x 8)
    if (j < 6) assert.ok(Math.abs(uncond![3 * 32 + j] - uncondWant) < 1e-5, `uncond column ${j}`);
    if (j >= 8) assert.equal(uncond![3 * 32 + j], 0, `uncond column ${j} is uncovered`);
  }
});

test('guidedDenoised: entries outside their σ range are skipped; cfg combines the area-weighted branches', async () => {
  const dims = [1, 1, 2, 2];
  const x = new Float32Array(4).fill(0.3);
  const model = constantModel({ cond: [1, 9], uncond: [2] });
  const conds: GuidanceConds = { cond: [{}, { sigmaRange: { high: 1.5, low: 0 } }], uncond: [{}] };
  const early = await guidedDenoised({ model, cfg: 3, dims, step, denoiser: { conds } }, x, level); // σ 2: entry 1 off
  early.forEach((v) => assert.ok(Math.abs(v - (2 + 3 * (1 - 2))) < 1e-5, `${v}`));
  const late = await guidedDenoised({ model, cfg: 3, dims, step, denoiser: { conds } }, x, { sigma: 1, timestep: 500 });
  late.forEach((v) => assert.ok(Math.abs(v - (2 + 3 * (5 - 2))) < 1e-5, `${v}`)); // (1 + 9) / 2 = 5
});

test('one full-latent entry per side through the area path equals the plain guidance bit for bit', async () => {
  const dims = [2, 4, 3, 3];
  const x = Float32Array.from({ length: 72 }, (_, i) => Math.sin(i * 0.37) * 4);
  const model = async (call: ModelCall) => call.sample.map((v, i) => Math.cos(v + (i % 72) * 0.01) * (callChunks(call)[Math.floor(i / 72)].branch === 'cond' ? 1 : -0.5));
  const plain = await guidedDenoised({ model, cfg: 6, dims, step }, x, level);
  const always = { sigmaRange: { high: Infinity, low: 0 } };
  const viaAreas = await guidedDenoised({ model, cfg: 6, dims, step, denoiser: { conds: { cond: [always], uncond: [always] } } }, x, level);
  assert.deepEqual([...viaAreas], [...plain]);
});
