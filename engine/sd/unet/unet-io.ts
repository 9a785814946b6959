// The UNet graph's own input and output names, defined once. The builders (unet.ts, unet-variant.ts) declare
// them with these helpers and the callers (eps-model.ts, the Inv-Adapter pipeline, parity sections) feed and
// read them through the same helpers, so the two sides cannot drift apart and a misspelt name is a type error.
// Each patch kind keeps the names of what it adds in its own *-io.ts beside it (inv-adapter/eaa-io.ts,
// controlnet/controlnet-io.ts).
import type { Tensor } from '../../tensor/index.ts';

/** One float32 feed of a UNet session. */
export interface FloatFeed {
  dims: readonly number[];
  data: Float32Array;
}

/** Feeds of one UNet run, by graph input name. */
export type Feeds = Record<string, FloatFeed>;

/** The base UNet graph's inputs (shapes in unet.ts buildUnetGraph). */
export const UNET_INPUT = {
  sample: 'sample',
  timestep: 'timestep',
  encoderHiddenStates: 'encoder_hidden_states',
  /** Inpainting UNets only (9 input channels). */
  concat: 'concat',
} as const;

/** The predicted noise [B,4,H,W]. */
export const UNET_OUTPUT = 'out';

/** The base inputs of one run as feeds: the one place that pairs values with UNET_INPUT names. */
export function unetFeeds(inputs: { sample: FloatFeed; timestep: FloatFeed; encoderHiddenStates: FloatFeed; concat?: FloatFeed }): Feeds {
  return {
    [UNET_INPUT.sample]: inputs.sample,
    [UNET_INPUT.timestep]: inputs.timestep,
    [UNET_INPUT.encoderHiddenStates]: inputs.encoderHiddenStates,
    ...(inputs.concat ? { [UNET_INPUT.concat]: inputs.concat } : {}),
  };
}

export type FeatureSide = 'self' | 'cross';

/** A `recordFeatures` output: norm1 (`self`, the input of self-attention) or norm2 (`cross`) output of the
 *  transformer block at diffusers path `block`, [B,H·W,C]. */
export function recordedFeature(block: string, side: FeatureSide): string {
  return `features.${block}.${side}`;
}

/** The recorded features of `blocks` in a run's outputs, by block and side (the names stay inside this file). */
export function readRecordedFeatures(outputs: Record<string, Tensor>, blocks: readonly string[]): Map<string, Record<FeatureSide, Tensor>> {
  const out = new Map<string, Record<FeatureSide, Tensor>>();
  for (const block of blocks) {
    const [self, cross] = (['self', 'cross'] as const).map((side) => {
      const tensor = outputs[recordedFeature(block, side)];
      if (!tensor) throw new Error(`the UNet did not output ${recordedFeature(block, side)}`);
      return tensor;
    });
    out.set(block, { self, cross });
  }
  return out;
}
