// The names of the inputs the Embedded Attention Adapter adds to the UNet graph (unet-eaa.ts declares them,
// eaa-patch.ts feeds them), defined once so the two sides cannot disagree: a misspelt name is a type error.
import type { FeatureSide } from '../unet/unet-io.ts';

export const EAA_INPUT = {
  /** σ per row for the self-attention side [B]. */
  sigmaSelf: 'eaa.sigma_self',
  /** σ per row for the cross side [B] (adapter-file mode only). */
  sigmaCross: 'eaa.sigma_cross',
  /** One factor per transformer block [blocks], canonical order. */
  blockWeights: 'eaa.block_weights',
  /** The reference branch's F_s / F_c of one block, [1,R,C]. */
  features: (block: string, side: FeatureSide) => `eaa.${block}.${side}`,
  /** The attention mask at one resolution level, [1,S_l,1]. */
  mask: (level: number) => `eaa.mask.level${level}`,
} as const;
