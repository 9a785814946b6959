// SD1.5 T2I-Adapters (TencentARC; ComfyUI comfy/t2i_adapter/adapter.py Adapter and Adapter_light, detected by keys as
// comfy/controlnet.py load_t2i_adapter does): the file's layout and architecture from its keys and shapes, and the
// network as graph values. The adapter runs once per hint (not per step): its 4 feature maps are added, × strength,
// to the UNet encoder's hidden state after input blocks 2, 5, 8 and 11 (ComfyUI's control['input'] list).
// Not wired to ControlNetLoader yet: the sampler side (feature inputs of the UNet graph) is still to do.
import { conv2d, add, reshape, transpose } from '../../onnx/index.ts';
import type { Module, Value, SafetensorsFile, WeightSource } from '../../onnx/index.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';
import { mappedWeightSource } from '../checkpoint/mapped-weights.ts';
import { checkpointFingerprint } from '../../onnx/index.ts';

export class T2iAdapterError extends Error {}

export interface T2iAdapterConfig {
  /** `full`: Adapter (conv_in, ResnetBlocks with skip adds); `light`: Adapter_light (extractors of light blocks). */
  kind: 'full' | 'light';
  /** Hint channels (1: the hint is averaged to gray first, as ComfyUI; 3: RGB). */
  inputChannels: number;
  /** Output width per level (SD1.5: 320, 640, 1280, 1280), one feature map per level. */
  channels: number[];
  /** Residual blocks per level (full: 2, light: 4 in ComfyUI's SD1.5 adapters). */
  blocksPerLevel: number;
  /** Full adapters: kernel of block2 / in_conv (1 or 3); downsampling by a stride-2 conv (`down_opt.op`) or 2×2 average. */
  kernel: number;
  convDown: boolean;
}

export interface T2iAdapter {
  path: string;
  config: T2iAdapterConfig;
  /** Weights under ComfyUI's (original TencentARC) names: conv_in, body.<k>.… */
  weights: WeightSource;
  fingerprint: string;
}

/** The pixel-unshuffle factor of SD1.5 adapters: the hint is 8× the latent. */
export const UNSHUFFLE = 8;

/** Which original names a diffusers T2IAdapter name comes from (ComfyUI's prefix_replace), else the name itself. */
function diffusersToOriginal(name: string): string {
  const m = name.match(/^adapter\.body\.(\d+)\.resnets\.(\d+)\.(.+)$/);
  if (m) return `body.${+m[1] * 2 + +m[2]}.${m[3]}`;
  const b = name.match(/^adapter\.body\.(\d+)\.(.+)$/);
  if (b) return `body.${+b[1] * 2}.${b[2]}`;
  return name.startsWith('adapter.') ? name.slice('adapter.'.length) : name;
}

/** True when the keys are a T2I-Adapter's (either layout), as load_t2i_adapter tells them. */
export function isT2iAdapterKeys(keys: readonly string[]): boolean {
  const names = new Set(keys.map(diffusersToOriginal));
  return names.has('body.0.in_conv.weight') || (names.has('conv_in.weight') && names.has('body.0.block1.weight'));
}

function countWhile(test: (i: number) => boolean): number {
  let n = 0;
  while (test(n)) n++;
  return n;
}

const LEVELS = 4;

function inferConfig(path: string, w: WeightSource): T2iAdapterConfig {
  const what = (s: string) => new T2iAdapterError(`${path} ${s}; invgraph runs SD1.5 T2I-Adapters`);
  const shape = (n: string) => w.weight(n).shape;
  if (w.has('body.0.in_conv.weight')) {
    const levels = countWhile((i) => w.has(`body.${i}.in_conv.weight`));
    if (levels !== LEVELS) throw what(`has ${levels} extractor levels, SD1.5 light adapters have ${LEVELS}`);
    const cin = shape('body.0.in_conv.weight')[1];
    return {
      kind: 'light',
      inputChannels: cin / (UNSHUFFLE * UNSHUFFLE),
      channels: Array.from({ length: levels }, (_, i) => shape(`body.${i}.out_conv.weight`)[0]),
      blocksPerLevel: countWhile((j) => w.has(`body.0.body.${j}.block1.weight`)),
      kernel: 3,
      convDown: false,
    };
  }
  if (w.has('conv_in.weight')) {
    const cin = shape('conv_in.weight')[1];
    if (cin === 256 || cin === 768) throw what('is an SDXL T2I-Adapter (16× unshuffle)');
    const blocks = countWhile((k) => w.has(`body.${k}.block1.weight`));
    if (blocks === 0 || blocks % LEVELS !== 0) throw what(`has ${blocks} residual blocks, not a multiple of ${LEVELS} levels`);
    const per = blocks / LEVELS;
    return {
      kind: 'full',
      inputChannels: cin / (UNSHUFFLE * UNSHUFFLE),
      channels: Array.from({ length: LEVELS }, (_, i) => shape(`body.${i * per}.block1.weight`)[0]),
      blocksPerLevel: per,
      kernel: shape('body.0.block2.weight')[2],
      convDown: w.has('body.' + per + '.down_opt.op.weight'),
    };
  }
  throw what('has no T2I-Adapter tensors (conv_in / body.0.in_conv)');
}

/** Opens a T2I-Adapter file (.safetensors / .pth; original or diffusers names; an `adapter.` wrapper is read through). */
export function openT2iAdapter(path: string): T2iAdapter {
  const file: SafetensorsFile = openTensorFile(path, T2iAdapterError);
  const keys = [...file.tensors.keys()];
  if (!isT2iAdapterKeys(keys)) throw new T2iAdapterError(`${path} is not a T2I-Adapter (no conv_in + body.0.block1 or body.0.in_conv tensors)`);
  const byOriginal = new Map(keys.map((k) => [diffusersToOriginal(k), k]));
  const weights = mappedWeightSource(file, {
    candidates: (name) => [byOriginal.get(name) ?? name],
    missing: (expected) => new T2iAdapterError(`T2I-Adapter ${path} has no tensor '${expected}': the file is incomplete`),
  });
  const config = inferConfig(path, weights);
  if (!Number.isInteger(config.inputChannels) || ![1, 3].includes(config.inputChannels)) {
    throw new T2iAdapterError(`${path}: its first layer takes ${config.inputChannels * 64} channels, not 64 or 192 (a 1- or 3-channel hint unshuffled by 8)`);
  }
  return { path, config, weights, fingerprint: checkpointFingerprint(file) };
}

// ---------- the network ----------

function relu(x: Value): Value {
  return x.graph.addNode({ opType: 'Relu', inputs: [x], outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope })[0];
}

/** torch AvgPool2d(2, 2) with padding [h % 2, w % 2] on both sides, zeros counted (Downsample without conv). */
function averageDown(x: Value): Value {
  const [b, c, h, w] = x.shape as number[];
  if (typeof h !== 'number' || typeof w !== 'number') throw new T2iAdapterError('the T2I-Adapter graph needs numeric sizes');
  const [ph, pw] = [h % 2, w % 2];
  const out = [b, c, Math.floor((h + 2 * ph - 2) / 2) + 1, Math.floor((w + 2 * pw - 2) / 2) + 1];
  return x.graph.addNode({
    opType: 'AveragePool', inputs: [x], attributes: { kernel_shape: [2, 2], strides: [2, 2], pads: [ph, pw, ph, pw], count_include_pad: 1 },
    outputs: [{ shape: out, dtype: x.dtype }], scope: x.scope,
  })[0];
}

/** torch PixelUnshuffle(r): [B,C,H,W] → [B,C·r²,H/r,W/r], channel c·r² + i·r + j. */
function pixelUnshuffle(x: Value, r: number): Value {
  const [b, c, h, w] = x.shape as number[];
  if (h % r !== 0 || w % r !== 0) throw new T2iAdapterError(`the hint is ${w}×${h} pixels; a T2I-Adapter needs multiples of ${r}`);
  const split = reshape(x, [b, c, h / r, r, w / r, r]);
  return reshape(transpose(split, [0, 1, 3, 5, 2, 4]), [b, c * r * r, h / r, w / r]);
}

function fullBlock(m: Module, x: Value, down: boolean, config: T2iAdapterConfig): Value {
  const pad = Math.floor(config.kernel / 2);
  if (down) x = config.convDown ? conv2d(m.at('down_opt.op'), x, { stride: 2, pad: 1 }) : averageDown(x);
  if (m.hasParam('in_conv.weight')) x = conv2d(m.at('in_conv'), x, { pad });
  const h = conv2d(m.at('block2'), relu(conv2d(m.at('block1'), x, { pad: 1 })), { pad });
  // sk=True in ComfyUI's SD1.5 adapters: no skep conv, the block adds its input.
  return m.hasParam('skep.weight') ? add(h, conv2d(m.at('skep'), x, { pad })) : add(h, x);
}

function lightLevel(m: Module, x: Value, down: boolean, config: T2iAdapterConfig): Value {
  if (down) x = averageDown(x);
  x = conv2d(m.at('in_conv'), x);
  for (let j = 0; j < config.blocksPerLevel; j++) {
    const block = m.at(`body.${j}`);
    x = add(conv2d(block.at('block2'), relu(conv2d(block.at('block1'), x, { pad: 1 })), { pad: 1 }), x);
  }
  return conv2d(m.at('out_conv'), x);
}

/**
 * The adapter on a hint [B, inputChannels, H, W] (H, W numeric multiples of 8; values 0..1) → one feature map per
 * level, [B, channels[l], ⌈H/8/2^l⌉, …], the values ComfyUI adds after input blocks 2, 5, 8, 11.
 */
export function t2iAdapterForward(root: Module, hint: Value, config: T2iAdapterConfig): Value[] {
  let x = pixelUnshuffle(hint, UNSHUFFLE);
  const features: Value[] = [];
  if (config.kind === 'full') {
    x = conv2d(root.at('conv_in'), x, { pad: 1 });
    config.channels.forEach((_, i) => {
      for (let j = 0; j < config.blocksPerLevel; j++) x = fullBlock(root.at(`body.${i * config.blocksPerLevel + j}`), x, i > 0 && j === 0, config);
      features.push(x);
    });
  } else {
    config.channels.forEach((_, i) => {
      x = lightLevel(root.at(`body.${i}`), x, i > 0, config);
      features.push(x);
    });
  }
  return features;
}

/** UNet skip index (ComfyUI input block) after which level l's feature is added. */
export function t2iSkipIndex(level: number): number {
  return 3 * level + 2;
}
