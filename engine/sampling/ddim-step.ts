// The deterministic (eta 0) DDIM update of diffusers' DDIMScheduler and DDIMInverseScheduler, in DDPM
// space, with every operation rounded to float32 in torch's order (sd15-reference.md §5.3, §5.4).

const f32 = Math.fround;

/** Move `sample` from level ᾱ_from to level ᾱ_to given the model's ε at ᾱ_from's timestep:
 *  x0 = (x − √(1−ᾱ_from)·ε)/√ᾱ_from, x' = √ᾱ_to·x0 + √(1−ᾱ_to)·ε. Also returns x0 (for previews). */
export function ddimMove(
  sample: Float32Array,
  eps: Float32Array,
  alphaFrom: number,
  alphaTo: number,
): { next: Float32Array; predictedOriginal: Float32Array } {
  const sqrtBetaFrom = f32(Math.sqrt(f32(1 - alphaFrom)));
  const sqrtAlphaFrom = f32(Math.sqrt(alphaFrom));
  const sqrtAlphaTo = f32(Math.sqrt(alphaTo));
  const sqrtBetaTo = f32(Math.sqrt(f32(1 - alphaTo)));
  const next = new Float32Array(sample.length);
  const predictedOriginal = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) {
    const x0 = f32(f32(sample[i] - f32(sqrtBetaFrom * eps[i])) / sqrtAlphaFrom);
    predictedOriginal[i] = x0;
    next[i] = f32(sqrtAlphaTo * x0) + f32(sqrtBetaTo * eps[i]);
  }
  return { next, predictedOriginal };
}
