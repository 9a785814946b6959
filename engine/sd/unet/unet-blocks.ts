// The UNet's transformer blocks (Transformer2DModel paths) in execution order with their widths:
// sd15-reference.md §1.7, inv-adapter.md §2 (SD1.5: 16 blocks). Names key recorded features and EAA weights.
import type { UnetConfig } from '../checkpoint/config.ts';

export interface TransformerBlockInfo {
  /** diffusers module path, e.g. `down_blocks.0.attentions.0`. */
  name: string;
  /** Channels C of its tokens [B,H·W,C]. */
  width: number;
  /** Downsampling level: tokens are (H/2^level)·(W/2^level). */
  level: number;
}

export function transformerBlocks(config: UnetConfig): TransformerBlockInfo[] {
  const levels = config.blockOutChannels.length;
  const blocks: TransformerBlockInfo[] = [];
  const add = (name: string, level: number) => blocks.push({ name, width: config.blockOutChannels[level], level });
  for (let i = 0; i < levels; i++) {
    if (!config.attentionLevels[i]) continue;
    for (let j = 0; j < config.layersPerBlock; j++) add(`down_blocks.${i}.attentions.${j}`, i);
  }
  add('mid_block.attentions.0', levels - 1);
  for (let i = 0; i < levels; i++) {
    const level = levels - 1 - i;
    if (!config.attentionLevels[level]) continue;
    for (let j = 0; j <= config.layersPerBlock; j++) add(`up_blocks.${i}.attentions.${j}`, level);
  }
  return blocks;
}

export class UnetVariantError extends Error {}

/** Per-block patches (recorded features, EAA) address Transformer2DModels by path: one block inside each. */
export function requireOneTransformerBlock(config: UnetConfig): void {
  if (config.transformerDepth !== 1) {
    throw new UnetVariantError(
      `recorded features and EAA need one transformer block per Transformer2DModel (SD1.5); this UNet has ${config.transformerDepth}`,
    );
  }
}
