// Parity of the whole text-to-image loop (pipeline.safetensors) through the project's own sampler code:
// our text embeddings, diffusers-DDIM 10 steps with CFG from the given initial noise, every step's latent
// and ε, the decoded image; then DDIM inversion of the VAE fixture image with guidance 1.
import type { EpsModel } from '../../engine/sampling/index.ts';
import { sample, invertDdim, ddimTimesteps } from '../../engine/sampling/index.ts';
import { createEpsModel, encodeTextIds } from '../../engine/sd/index.ts';
import type { Tensor } from '../../engine/tensor/index.ts';
import { makeTensor } from '../../engine/tensor/index.ts';
import type { ParityContext, FixtureConfig } from './context.ts';
import { idsTensor } from './context.ts';
import { stack } from './fixture.ts';

/** Keeps every ε the sampler asked for, split into its uncond / cond halves. */
function recording(model: EpsModel): { model: EpsModel; calls: Array<{ eps: Float32Array; guided: boolean }> } {
  const calls: Array<{ eps: Float32Array; guided: boolean }> = [];
  return {
    calls,
    model: async (call) => {
      const eps = await model(call);
      calls.push({ eps, guided: call.guidance === 'uncond+cond' });
      return eps;
    },
  };
}

function halves(eps: Float32Array, dims: readonly number[]): { uncond: Tensor; cond: Tensor } {
  const size = eps.length / 2;
  return { uncond: { dims, data: eps.slice(0, size) }, cond: { dims, data: eps.slice(size) } };
}

async function textToImage(ctx: ParityContext, stem: string, config: FixtureConfig): Promise<void> {
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const { prompts, negative_prompt: negativePrompt, pipeline_steps: steps, guidance_scale: cfg } = config.inputs;
  const positive = await encodeTextIds(ctx.runtime, ctx.checkpoint, prompts.map((p) => ctx.tokenizer.tokenizeSd15(p)));
  const negative = await encodeTextIds(ctx.runtime, ctx.checkpoint, prompts.map(() => ctx.tokenizer.tokenizeSd15(negativePrompt)));
  ctx.log.float(stem, 'prompt_embeds', positive, ref('prompt_embeds'));
  ctx.log.float(stem, 'negative_prompt_embeds', negative, ref('negative_prompt_embeds'));
  ctx.log.int(stem, 'timesteps', { dims: [steps], ints: BigInt64Array.from(ddimTimesteps(steps), BigInt) }, ctx.fixture.ints(stem, 'timesteps'));

  const session = await ctx.runtime.unetSession(ctx.checkpoint);
  const recorder = recording(createEpsModel({ session, positive, negative }));
  const noise = ref('initial_noise');
  const latents: Tensor[] = [];
  const final = await sample({
    model: recorder.model, cfg, sampler: 'ddim_diffusers', scheduler: 'normal', steps, seed: 0n,
    latent: makeTensor(noise.dims), noise: noise.data,
    onStep: (step) => { if (step.index > 0) latents.push({ dims: noise.dims, data: step.x.slice() }); },
  });
  latents.push(final);
  ctx.log.float(stem, 'latents', stack(latents), ref('latents'));
  const split = recorder.calls.map((c) => halves(c.eps, noise.dims));
  const uncond = stack(split.map((s) => s.uncond));
  const text = stack(split.map((s) => s.cond));
  ctx.log.float(stem, 'noise_pred_uncond', uncond, ref('noise_pred_uncond'));
  ctx.log.float(stem, 'noise_pred_text', text, ref('noise_pred_text'));
  const guided = uncond.data.map((u, i) => u + Math.fround(Math.fround(text.data[i] - u) * cfg));
  ctx.log.float(stem, 'noise_pred', { dims: uncond.dims, data: guided }, ref('noise_pred'));

  const decoder = await ctx.runtime.networkSession(ctx.checkpoint, { kind: 'vae-decoder' });
  const { image } = await decoder.run({ latent: final });
  ctx.log.float(stem, 'image', image, ref('image'));
  const image01 = image.data.map((v) => Math.min(1, Math.max(0, v / 2 + 0.5)));
  ctx.log.float(stem, 'image_01', { dims: image.dims, data: image01 }, ref('image_01'));
}

async function inversion(ctx: ParityContext, stem: string, config: FixtureConfig): Promise<void> {
  if (!ctx.fixture.has('vae')) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const steps = config.inputs.pipeline_steps;
  const ids = [ctx.tokenizer.tokenizeSd15(config.inputs.inversion_prompt)];
  ctx.log.int(stem, 'inversion_input_ids', idsTensor(ids), ctx.fixture.ints(stem, 'inversion_input_ids'));
  const embeds = await encodeTextIds(ctx.runtime, ctx.checkpoint, ids);
  ctx.log.float(stem, 'inversion_prompt_embeds', embeds, ref('inversion_prompt_embeds'));
  const encoder = await ctx.runtime.networkSession(ctx.checkpoint, { kind: 'vae-encoder' });
  const { latent } = await encoder.run({ image: ctx.fixture.tensor('vae', 'image') }, ['latent']);
  const session = await ctx.runtime.unetSession(ctx.checkpoint);
  const recorder = recording(createEpsModel({ session, positive: embeds, negative: embeds }));
  const result = await invertDdim({ model: recorder.model, latent, steps, cfg: 1 });
  ctx.log.int(stem, 'inversion_timesteps', { dims: [steps], ints: BigInt64Array.from(result.timesteps, BigInt) }, ctx.fixture.ints(stem, 'inversion_timesteps'));
  ctx.log.float(stem, 'inversion_latents', stack(result.latents), ref('inversion_latents'));
  ctx.log.float(stem, 'inversion_noise_pred', stack(recorder.calls.map((c) => ({ dims: latent.dims, data: c.eps }))), ref('inversion_noise_pred'));
}

export async function pipelineSection(ctx: ParityContext): Promise<void> {
  const stem = 'pipeline';
  if (!ctx.fixture.has(stem)) return;
  const config = ctx.fixture.json<FixtureConfig>('config.json');
  await textToImage(ctx, stem, config);
  await inversion(ctx, stem, config);
}
