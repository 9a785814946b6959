// Parity sections for single network calls: the VAE (vae.safetensors) and the UNet with the 16
// transformer blocks' attention inputs (unet.safetensors).
import type { Tensor } from '../../engine/tensor/index.ts';
import { unetFeeds } from '../../engine/sd/index.ts';
import type { ParityContext } from './context.ts';

function mapData(t: Tensor, f: (v: number) => number): Tensor {
  return { dims: t.dims, data: t.data.map(f) };
}

export async function vaeSection(ctx: ParityContext): Promise<void> {
  const stem = 'vae';
  if (!ctx.fixture.has(stem)) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const encoder = await ctx.runtime.networkSession(ctx.checkpoint, { kind: 'vae-encoder' });
  const enc = await encoder.run({ image: ref('image') });
  ctx.log.float(stem, 'latent_mean', enc.mean, ref('latent_mean'));
  ctx.log.float(stem, 'latent_logvar', enc.logvar, ref('latent_logvar'));
  ctx.log.float(stem, 'latent_std', mapData(enc.logvar, (v) => Math.exp(0.5 * v)), ref('latent_std'));
  ctx.log.float(stem, 'scaled_latent_mean', enc.latent, ref('scaled_latent_mean'));
  // decoder_input is already divided by the scaling factor; our decoder takes the SD latent.
  const factor = ctx.checkpoint.config.vae.scalingFactor;
  const decoder = await ctx.runtime.networkSession(ctx.checkpoint, { kind: 'vae-decoder' });
  const dec = await decoder.run({ latent: mapData(ref('decoder_input'), (v) => v * factor) });
  ctx.log.float(stem, 'decoder_output', dec.image, ref('decoder_output'));
}

export async function unetSection(ctx: ParityContext): Promise<void> {
  const stem = 'unet';
  if (!ctx.fixture.has(stem)) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const session = await ctx.runtime.unetSession(ctx.checkpoint, { recordFeatures: true });
  const out = await session.run(unetFeeds({
    sample: ref('sample'),
    timestep: ref('timestep_float'),
    encoderHiddenStates: ref('encoder_hidden_states'),
  }));
  const keys = new Set(ctx.fixture.keys(stem));
  for (const [name, tensor] of Object.entries(out)) {
    ctx.log.float(stem, name, tensor, keys.has(name) ? ref(name) : undefined);
  }
}
