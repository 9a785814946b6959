// Parity section for unet_controlnet.safetensors: the fixture's controlnet.safetensors fused into the UNet graph
// (the variant users get, plus its residual outputs), on the fixture's sample / timestep / text / hint.
import type { ParityContext } from './context.ts';

export async function controlnetSection(ctx: ParityContext): Promise<void> {
  const stem = 'unet_controlnet';
  if (!ctx.fixture.has(stem) || !ctx.fixture.hasFile('controlnet.safetensors')) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const sample = ref('sample');
  const rows = sample.dims[0];
  const inputs = {
    sample,
    // Goldens store int64 timesteps; the graph takes float32 (exact for integers).
    timestep: { dims: [rows], data: Float32Array.from(ctx.fixture.ints(stem, 'timestep').ints, Number) },
    encoder_hidden_states: ref('encoder_hidden_states'),
  };
  // The fixture's [1,3,H,W] hint serves both rows: the shared-hint input, as ControlNetApplyAdvanced's single image.
  const nets = [{ path: ctx.fixture.path('controlnet.safetensors'), sharedHint: true }];
  const variant = { controlnet: { residuals: 'fused' as const, nets, outputResiduals: true } };
  const session = await ctx.runtime.unetSession(ctx.checkpoint, variant);
  const out = await session.run({
    ...inputs,
    'controlnet.0.hint': ref('hint'),
    'controlnet.0.strength': { dims: [rows], data: new Float32Array(rows).fill(1) },
  });
  for (let k = 0; k < 12; k++) ctx.log.float(stem, `down_residual.${k}`, out[`controlnet.0.down_residual.${k}`], ref(`down_residual.${k}`));
  ctx.log.float(stem, 'mid_residual', out['controlnet.0.mid_residual'], ref('mid_residual'));
  ctx.log.float(stem, 'out', out.out, ref('out'));
  const plain = await (await ctx.runtime.unetSession(ctx.checkpoint, {})).run(inputs);
  ctx.log.float(stem, 'out_without_control', plain.out, ref('out_without_control'));
}
