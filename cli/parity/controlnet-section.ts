// Parity section for unet_controlnet.safetensors: the fixture's controlnet.safetensors fused into the UNet graph
// (the variant users get, plus its residual outputs), on the fixture's sample / timestep / text / hint.
import { unetFeeds, CONTROLNET_INPUT, CONTROLNET_OUTPUT, UNET_OUTPUT } from '../../engine/sd/index.ts';
import type { ParityContext } from './context.ts';

export async function controlnetSection(ctx: ParityContext): Promise<void> {
  const stem = 'unet_controlnet';
  if (!ctx.fixture.has(stem) || !ctx.fixture.hasFile('controlnet.safetensors')) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);
  const sample = ref('sample');
  const rows = sample.dims[0];
  const inputs = unetFeeds({
    sample,
    // Goldens store int64 timesteps; the graph takes float32 (exact for integers).
    timestep: { dims: [rows], data: Float32Array.from(ctx.fixture.ints(stem, 'timestep').ints, Number) },
    encoderHiddenStates: ref('encoder_hidden_states'),
  });
  // The fixture's [1,3,H,W] hint serves both rows: the shared-hint input, as ControlNetApplyAdvanced's single image.
  const nets = [{ path: ctx.fixture.path('controlnet.safetensors'), sharedHint: true }];
  const variant = { controlnet: { residuals: 'fused' as const, nets, outputResiduals: true } };
  const session = await ctx.runtime.unetSession(ctx.checkpoint, variant);
  const out = await session.run({
    ...inputs,
    [CONTROLNET_INPUT.hint(0)]: ref('hint'),
    [CONTROLNET_INPUT.strength(0)]: { dims: [rows], data: new Float32Array(rows).fill(1) },
  });
  // Fixture keys (left) are the golden file's; graph outputs (right) are named by controlnet-io.ts.
  for (let k = 0; k < 12; k++) ctx.log.float(stem, `down_residual.${k}`, out[CONTROLNET_OUTPUT.downResidual(0, k)], ref(`down_residual.${k}`));
  ctx.log.float(stem, 'mid_residual', out[CONTROLNET_OUTPUT.midResidual(0)], ref('mid_residual'));
  ctx.log.float(stem, 'out', out[UNET_OUTPUT], ref('out'));
  const plain = await (await ctx.runtime.unetSession(ctx.checkpoint, {})).run(inputs);
  ctx.log.float(stem, 'out_without_control', plain[UNET_OUTPUT], ref('out_without_control'));
}
