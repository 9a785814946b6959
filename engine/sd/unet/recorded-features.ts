// The recordFeatures graph patch: every transformer block's norm1 / norm2 output as extra graph outputs (the
// Inv-Adapter reference branch records them into a feature bank, inv-adapter/feature-bank.ts).
import type { Value } from '../../onnx/index.ts';
import { defineGraphPatch } from './graph-patch.ts';
import { recordedFeature } from './unet-io.ts';
import { requireOneTransformerBlock } from './unet-blocks.ts';

/**
 * `recordFeatures: true`: extra outputs per transformer block, in execution order: `features.<block>.self` (norm1
 * output, the input of self-attention) and `features.<block>.cross` (norm2 output), each [B,H·W,C]; `<block>` is
 * the diffusers Transformer2DModel path, e.g. `down_blocks.0.attentions.0` (names: unet-io.ts recordedFeature).
 */
export const recordFeaturesPatch = defineGraphPatch({
  name: 'recordFeatures',
  check: (config, _spec: boolean) => requireOneTransformerBlock(config),
  build(g) {
    const recorded: Array<[string, Value]> = [];
    return {
      block: (block) => ({
        record: (self, cross) => recorded.push([recordedFeature(block, 'self'), self], [recordedFeature(block, 'cross'), cross]),
      }),
      // Outputs after the main `out`, in execution order.
      finish: () => { for (const [name, value] of recorded) g.output(value, name); },
    };
  },
});
