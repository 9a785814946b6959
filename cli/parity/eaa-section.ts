// Parity of the Embedded Attention Adapter (eaa.safetensors, inv-adapter.md §3) through the graph variants users
// get: the reference caption through our tokenizer and CLIP, the reference branch's F_s / F_c from the
// recordFeatures UNet, then the EAA UNet with the fixture's adapter file fed with those recomputed features.
import { encodeTextIds, transformerBlocks, unetFeeds, recordedFeature, EAA_INPUT, UNET_OUTPUT } from '../../engine/sd/index.ts';
import type { Feed } from '../../engine/onnx/index.ts';
import type { Tensor } from '../../engine/tensor/index.ts';
import type { ParityContext, FixtureConfig } from './context.ts';
import { idsTensor } from './context.ts';

const int64AsFloat = (t: { dims: readonly number[]; ints: BigInt64Array }): Tensor => ({ dims: t.dims, data: Float32Array.from(t.ints, Number) });

export async function eaaSection(ctx: ParityContext): Promise<void> {
  const stem = 'eaa';
  if (!ctx.fixture.has(stem) || !ctx.fixture.hasFile('eaa_adapter.safetensors')) return;
  const { eaa } = ctx.fixture.json<FixtureConfig>('config.json');
  if (!eaa) return;
  const ref = (key: string) => ctx.fixture.tensor(stem, key);

  // Reference branch: caption → ids → CLIP → UNet features at the reference timestep (batch 1).
  const ids = [ctx.tokenizer.tokenizeSd15(eaa.reference_caption)];
  ctx.log.int(stem, 'reference_input_ids', idsTensor(ids), ctx.fixture.ints(stem, 'reference_input_ids'));
  const captionStates = await encodeTextIds(ctx.runtime, ctx.checkpoint, ids);
  ctx.log.float(stem, 'reference_encoder_hidden_states', captionStates, ref('reference_encoder_hidden_states'));
  const recorder = await ctx.runtime.unetSession(ctx.checkpoint, { recordFeatures: true });
  const reference = await recorder.run(unetFeeds({
    sample: ref('reference_latent'),
    timestep: int64AsFloat(ctx.fixture.ints(stem, 'reference_timestep')),
    encoderHiddenStates: captionStates,
  }));
  const features: Record<string, Feed> = {};
  for (const { name } of transformerBlocks(ctx.checkpoint.config.unet)) {
    for (const side of ['self', 'cross'] as const) {
      // The fixture's keys are the recordFeatures output names.
      const key = recordedFeature(name, side);
      ctx.log.float(stem, key, reference[key], ref(key));
      features[EAA_INPUT.features(name, side)] = reference[key];
    }
  }

  // Generation: the EAA variant with the fixture's adapter, σ per side as the fixture's cases.
  const sample = ref('sample');
  const generation = unetFeeds({
    sample,
    timestep: int64AsFloat(ctx.fixture.ints(stem, 'timestep')),
    encoderHiddenStates: ref('encoder_hidden_states'),
  });
  const rows = sample.dims[0];
  const sigma = (v: number): Feed => ({ dims: [rows], data: new Float32Array(rows).fill(v) });
  const blockCount = transformerBlocks(ctx.checkpoint.config.unet).length;
  const blockWeights: Feed = { dims: [blockCount], data: new Float32Array(blockCount).fill(1) };
  const session = await ctx.runtime.unetSession(ctx.checkpoint, { eaa: { adapterPath: ctx.fixture.path('eaa_adapter.safetensors') } });
  const cases: Array<[string, number, number]> = [
    ['out_self_cross', eaa.sigma, eaa.sigma], ['out_self_only', eaa.sigma, 0], ['out_cross_only', 0, eaa.sigma], ['out_sigma0', 0, 0],
  ];
  for (const [key, self, cross] of cases) {
    const feeds = { ...generation, ...features, [EAA_INPUT.sigmaSelf]: sigma(self), [EAA_INPUT.sigmaCross]: sigma(cross), [EAA_INPUT.blockWeights]: blockWeights };
    const out = await session.run(feeds, [UNET_OUTPUT]);
    ctx.log.float(stem, key, out[UNET_OUTPUT], ref(key));
  }
  const plain = await ctx.runtime.unetSession(ctx.checkpoint);
  ctx.log.float(stem, 'out_plain', (await plain.run(generation))[UNET_OUTPUT], ref('out_plain'));
}
