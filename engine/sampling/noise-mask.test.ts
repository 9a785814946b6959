// Inpainting: with a noise mask the k-samplers keep the masked-out cells at the input latent and denoise
// the rest (ComfyUI KSamplerX0Inpaint), here on a point-mass model whose solution is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWithSigmas } from './sample.ts';
import { pointMassModel } from './test-models.ts';

test('a noise mask keeps the 0 cells at the input latent and denoises the 1 cells to the model\'s x0', async () => {
  const target = new Float32Array([5, 5, 5, 5]);
  const latent = { dims: [1, 1, 2, 2], data: new Float32Array([1, 2, 3, 4]) };
  const noise = new Float32Array([0.3, -1.2, 0.7, 2.0]);
  const sigmas = new Float32Array([14.6, 3, 0.5, 0]);
  const seen: Float32Array[] = [];
  const model = pointMassModel(target);
  const out = await sampleWithSigmas({
    model: async (call) => {
      seen.push(call.sample.slice());
      return model(call);
    },
    cfg: 1, sampler: 'euler', sigmas, noise, seed: 0n, latent,
    noiseMask: new Float32Array([1, 0, 0, 1]),
  });
  assert.deepEqual([...out.data].map((v) => Math.round(v * 1e4) / 1e4), [5, 2, 3, 5]);
  // The second call sees the kept cells re-noised to σ = 3: (latent + noise·3)/√(3² + 1).
  const scale = Math.sqrt(10);
  assert.ok(Math.abs(seen[1][1] - (2 + -1.2 * 3) / scale) < 1e-5, `${seen[1][1]}`);
  assert.ok(Math.abs(seen[1][2] - (3 + 0.7 * 3) / scale) < 1e-5, `${seen[1][2]}`);
});

test('a noise mask of the wrong size is a clear error', async () => {
  const latent = { dims: [1, 1, 1, 2], data: new Float32Array(2) };
  await assert.rejects(
    sampleWithSigmas({ model: pointMassModel(new Float32Array(2)), cfg: 1, sampler: 'euler', sigmas: new Float32Array([1, 0]), noise: undefined, seed: 0n, latent, noiseMask: new Float32Array(3) }),
    /noise mask has 3 values/,
  );
});
