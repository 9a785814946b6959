// What EAAInject puts on a MODEL (the settings of its EAA model patch, eaa-patch.ts): the settings plus the adapter
// and the feature bank. A contract at the bottom of inv-adapter/.
import type { MaskBatch } from '../../image/index.ts';
import type { InvAdapter } from './inv-adapter.ts';
import type { FeatureBank } from './feature-bank.ts';

export interface EaaSettings {
  /** σ of inv-adapter.md §3, 0…2. */
  weight: number;
  /** Fractions of the sampling schedule (ComfyUI percent → σ, as ControlNet's start/end). */
  startAt: number;
  endAt: number;
  selfAttention: boolean;
  crossAttention: boolean;
  applyToUncond: boolean;
  /** A factor on σ per transformer block, in canonical order (inv-adapter.md §2); absent = 1 everywhere. */
  blockWeights?: readonly number[];
  /** Use the nearest recorded timestep even when it is more than one sampler DDIM interval away. */
  allowTimestepMismatch?: boolean;
  /** Where in the generated image the adapter acts (1) or not (0): batch item 0, any size (resized by area
   *  averaging to each block's token grid). Absent = everywhere. */
  mask?: MaskBatch;
}

/** What EAAInject adds to a MODEL (eaa-patch.ts eaaOf). */
export interface EaaPatch extends EaaSettings {
  adapter: InvAdapter;
  features: FeatureBank;
}
