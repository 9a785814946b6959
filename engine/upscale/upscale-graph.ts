// The upscaler networks as ONNX graphs over the user's weights (canonical BasicSR names, mapped to the
// file's own keys by the WeightSource). Input `image` [1, C, H, W] in [0, 1] (pixel-unshuffled by the caller
// for Real-ESRGAN x2 / x1 models), output `upscaled` [1, 3, s·H, s·W], not clamped.
import { GraphBuilder, Module, conv2d, add, mul, concat, resizeNearest } from '../onnx/index.ts';
import type { Value, WeightSource, ComputeType } from '../onnx/index.ts';
import { leakyRelu, prelu, pixelShuffle } from './upscale-ops.ts';
import type { UpscaleArch, EsrganArch, CompactArch } from './architecture.ts';

const SLOPE = 0.2; // ESRGAN's LeakyReLU
const RESIDUAL = 0.2; // ESRGAN's residual scaling inside (and around) each dense block

const conv3 = (m: Module, x: Value) => conv2d(m, x, { pad: 1 });

/** Residual dense block: 5 convs, each seeing the input and every earlier output; LeakyReLU after the first four. */
function denseBlock(m: Module, x: Value): Value {
  const features = [x];
  for (let i = 1; i <= 4; i++) features.push(leakyRelu(conv3(m.at(`conv${i}`), concat(features, 1)), SLOPE));
  const x5 = conv3(m.at('conv5'), concat(features, 1));
  return add(mul(x5, RESIDUAL), x);
}

/** Residual-in-residual dense block: three dense blocks, then a scaled skip. */
function rrdb(m: Module, x: Value): Value {
  let h = x;
  for (const name of ['rdb1', 'rdb2', 'rdb3']) h = denseBlock(m.at(name), h);
  return add(mul(h, RESIDUAL), x);
}

function esrganNet(root: Module, x: Value, arch: EsrganArch): Value {
  const fea = conv3(root.at('conv_first'), x);
  let trunk = fea;
  for (let b = 0; b < arch.blocks; b++) trunk = rrdb(root.at('body').at(b), trunk);
  let h = add(fea, conv3(root.at('conv_body'), trunk));
  for (let u = 1; u <= arch.upsamples; u++) h = leakyRelu(conv3(root.at(`conv_up${u}`), resizeNearest(h, { scale: 2 })), SLOPE);
  return conv3(root.at('conv_last'), leakyRelu(conv3(root.at('conv_hr'), h), SLOPE));
}

function compactNet(root: Module, x: Value, arch: CompactArch): Value {
  const body = root.at('body');
  let h = x;
  for (let i = 0; i <= arch.convs; i++) h = prelu(conv3(body.at(2 * i), h), body.at(2 * i + 1).param('weight'));
  h = pixelShuffle(conv3(body.at(2 * arch.convs + 2), h), arch.scale);
  // The network learns a residual over the nearest-upsampled input.
  return add(h, resizeNearest(x, { scale: arch.scale }));
}

/** Builds the graph of one upscaler; shapes are checked against the weights as it is built. */
export function buildUpscaleGraph(arch: UpscaleArch, weights: WeightSource, compute: ComputeType = 'float32'): GraphBuilder {
  const g = new GraphBuilder({ name: `upscale_${arch.kind}`, compute });
  const root = new Module(g, weights, '');
  const x = g.input('image', 'float32', [1, arch.inChannels, 'H', 'W']);
  g.output(arch.kind === 'esrgan' ? esrganNet(root, x, arch) : compactNet(root, x, arch), 'upscaled');
  return g;
}
