// SD1.5 ControlNet as graph values, reading like diffusers 0.30.3 `models/controlnet.py` ControlNetModel.forward
// (ControlNetConditioningEmbedding, the UNet's encoder half, zero convs); sd15-reference.md §6. The encoder
// blocks are the UNet's own (../unet/unet-layers.ts); the graph that runs it beside the UNet is unet-controlnet.ts.
import { conv2d, silu, add } from '../../onnx/index.ts';
import type { Module, Value } from '../../onnx/index.ts';
import { timestepEmbedding, downBlock, midBlock } from '../unet/unet-layers.ts';
import type { Forward } from '../unet/unet-layers.ts';
import type { UnetInputs } from '../unet/unet-layers.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import type { ResolvedControlnetConfig } from './controlnet-checkpoint.ts';

export interface ControlnetInputs extends UnetInputs {
  /** The hint image [B,3,8·H,8·W], values in [0,1] (do_normalize false). */
  controlnetCond: Value;
}

/** The 12 down residuals (one per UNet skip s0…s11, in push order) and the mid residual, unscaled. */
export interface ControlnetResiduals {
  down: Value[];
  mid: Value;
}

/**
 * ControlNetConditioningEmbedding: conv_in → SiLU, then blocks (3×3; stride 2 on every second) each → SiLU,
 * then conv_out (zero-initialised in training, no SiLU). [B,3,8H,8W] → [B,C0,H,W]
 */
function controlnetCondEmbedding(m: Module, hint: Value, blocks: number): Value {
  let h = silu(conv2d(m.at('conv_in'), hint, { pad: 1 }));
  for (let j = 0; j < blocks; j++) h = silu(conv2d(m.at(`blocks.${j}`), h, { pad: 1, stride: j % 2 === 1 ? 2 : 1 }));
  return conv2d(m.at('conv_out'), h, { pad: 1 });
}

/** ControlNetModel.forward on graph values (conditioning_scale applied by the caller, per row). */
export function controlnetForward(root: Module, inputs: ControlnetInputs, config: ResolvedControlnetConfig): ControlnetResiduals {
  // The encoder blocks take a UNet config; a ControlNet has no conv_out, so outChannels is never read.
  const encoder: UnetConfig = { ...config.encoder, outChannels: config.encoder.inChannels };
  // 1. time: [B] → temb [B,timeEmbedDim]. No UNet patches (EAA, recorded features) inside the ControlNet, as in ComfyUI.
  const temb = timestepEmbedding(root.at('time_embedding'), inputs.timestep, encoder.blockOutChannels[0]);
  const fwd: Forward = { config: encoder, temb, text: inputs.encoderHiddenStates, extras: { block: () => ({}), finish: () => {} } };

  // 2. pre-process: conv_in(sample) + hint embedding, [B,4,H,W] → [B,C0,H,W]
  let h = conv2d(root.at('conv_in'), inputs.sample, { pad: 1 });
  h = add(h, controlnetCondEmbedding(root.at('controlnet_cond_embedding'), inputs.controlnetCond, config.hintBlockChannels.length - 1));

  // 3. down: [B,C0,H,W] → [B,C3,H/8,W/8]; skips s0…s11 in push order, like the UNet's
  const skips: Value[] = [h];
  encoder.blockOutChannels.forEach((_, i) => {
    h = downBlock(root.at(`down_blocks.${i}`), h, i, fwd, skips);
  });

  // 4. mid: [B,C3,H/8,W/8] → same
  h = midBlock(root.at('mid_block'), h, fwd);

  // 5. controlnet blocks: a 1×1 "zero conv" per skip and one on the mid output
  return {
    down: skips.map((skip, k) => conv2d(root.at(`controlnet_down_blocks.${k}`), skip)),
    mid: conv2d(root.at('controlnet_mid_block'), h),
  };
}
