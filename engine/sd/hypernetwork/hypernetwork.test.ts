// Hypernetworks: A1111 .pt files read as ComfyUI reads them (layers, activations, its LayerNorm quirk), refusals,
// each MLP's graph against plain maths for every activation, and in the UNet: strength 0 is the plain UNet bitwise,
// other strengths change it, a second net at strength 0 leaves the first's result bitwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GraphBuilder, saveModel, createSession, writeSafetensors } from '../../onnx/index.ts';
import { tempDir, noise, maxAbsDiff } from '../../onnx/test-helpers.ts';
import { writeTorchCheckpoint } from '../checkpoint/test-torch-file.ts';
import { openHypernetwork, HypernetworkError, HYPERNETWORK_ACTIVATIONS } from './hypernetwork-file.ts';
import type { HypernetworkActivation } from './hypernetwork-file.ts';
import { hypernetworkMlp } from './unet-hypernetwork.ts';
import { writeDemoHypernetwork } from './demo-hypernetwork.ts';
import { HYPERNETWORK_INPUT } from './hypernetwork-io.ts';
import { buildUnetGraph } from '../unet/unet.ts';
import { UNET_INPUT, UNET_OUTPUT } from '../unet/unet-io.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { FIXTURE_CHECKPOINT } from '../test-fixture.ts';

const ACT: Record<HypernetworkActivation, (v: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(0, v),
  leakyrelu: (v) => (v >= 0 ? v : 0.01 * v),
  elu: (v) => (v >= 0 ? v : Math.expm1(v)),
  swish: (v) => (v * Math.min(6, Math.max(0, v + 3))) / 6,
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  softsign: (v) => v / (1 + Math.abs(v)),
  mish: (v) => v * Math.tanh(Math.log1p(Math.exp(v))),
};

/** ComfyUI's Sequential of one MLP, on rows of width `width`. */
function referenceMlp(tensors: Map<string, Float32Array>, prefix: string, x: Float32Array, width: number, activation: HypernetworkActivation, layerNorm: boolean): Float32Array {
  const names = [...tensors.keys()].filter((k) => k.startsWith(prefix) && k.endsWith('.weight')).map((k) => k.slice(0, -7));
  let h = x, cols = width;
  for (let i = 0; i < names.length; i++) {
    const w = tensors.get(`${names[i]}.weight`)!, b = tensors.get(`${names[i]}.bias`)!;
    const out = b.length, rows = h.length / cols;
    const y = new Float32Array(rows * out);
    for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
      let acc = b[o];
      for (let k = 0; k < cols; k++) acc += h[r * cols + k] * w[o * cols + k];
      y[r * out + o] = acc;
    }
    const lastKey = i === names.length - 1;
    h = activation !== 'linear' && !lastKey ? y.map(ACT[activation]) : y;
    cols = out;
    if (layerNorm) {
      i++;
      const g = tensors.get(`${names[i]}.weight`)!, beta = tensors.get(`${names[i]}.bias`)!;
      for (let r = 0; r < rows; r++) {
        const row = h.subarray(r * cols, (r + 1) * cols);
        const mean = row.reduce((a, v) => a + v, 0) / cols;
        const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / cols;
        for (let k = 0; k < cols; k++) row[k] = ((row[k] - mean) / Math.sqrt(variance + 1e-5)) * g[k] + beta[k];
      }
    }
  }
  return h;
}

async function runMlp(path: string, width: number, side: 'key' | 'value', x: Float32Array): Promise<Float32Array> {
  const net = openHypernetwork(path);
  const g = new GraphBuilder({ name: 'mlp', compute: 'float32' });
  const input = g.input('x', 'float32', [1, x.length / width, width]);
  g.output(hypernetworkMlp(g, net, net.widths.get(width)![side], input, 'hn/'), 'y');
  const session = await createSession(saveModel(g, join(tempDir(), 'mlp')), { device: 'cpu', threads: 1 });
  try {
    return (await session.run({ x: { dims: [1, x.length / width, width], data: x } })).y.data;
  } finally {
    await session.release();
  }
}

test('an A1111 file reads as ComfyUI builds it: widths, two MLPs each, activations, LayerNorms', () => {
  const path = join(tempDir(), 'hn.pt');
  writeDemoHypernetwork(path, { widths: [32, 768], layerStructure: [1, 2, 1], activation: 'relu', layerNorm: true, seed: 1 });
  const net = openHypernetwork(path);
  assert.deepEqual([...net.widths.keys()], [32, 768]);
  assert.equal(net.activation, 'relu');
  const key = net.widths.get(768)!.key;
  assert.deepEqual(key.map((l) => (l.kind === 'linear' ? `linear ${l.inFeatures}->${l.outFeatures}${l.activation ? ' act' : ''}` : `ln ${l.width}`)),
    // with is_layer_norm ComfyUI also activates the last Linear (a LayerNorm key follows it)
    ['linear 768->1536 act', 'ln 1536', 'linear 1536->768 act', 'ln 768']);
  assert.ok(net.weights.has('768.1.linear.0.weight') && net.weights.has('32.0.linear.4.bias'));
});

test('other files are refused, saying what a hypernetwork is; unsupported activations name the supported ones', () => {
  const dir = tempDir();
  const st = join(dir, 'lora.safetensors');
  writeSafetensors(st, { 'lora_unet_x.lora_down.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } });
  assert.throws(() => openHypernetwork(st), (e: Error) => e instanceof HypernetworkError && /A1111 hypernetworks are PyTorch \.pt files/.test(e.message));
  const ckpt = join(dir, 'model.pt');
  writeTorchCheckpoint(ckpt, { 'model.diffusion_model.x.weight': { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
  assert.throws(() => openHypernetwork(ckpt), /no attention width keys \(320, 640, 768, 1280\); it holds e\.g\. model\.diffusion_model\.x\.weight/);
  const gelu = join(dir, 'gelu.pt');
  writeDemoHypernetwork(gelu, { widths: [32], layerStructure: [1, 1], activation: 'gelu' as HypernetworkActivation, seed: 2 });
  assert.throws(() => openHypernetwork(gelu), new RegExp(`activation_func "gelu" is not supported; ComfyUI runs ${HYPERNETWORK_ACTIVATIONS.join(', ')}`));
});

test('each MLP graph equals plain maths, for every activation, with and without LayerNorm', async () => {
  const width = 8;
  const x = noise(3 * width, 3).map((v) => v * 2);
  for (const activation of HYPERNETWORK_ACTIVATIONS) {
    for (const layerNorm of [false, true]) {
      const path = join(tempDir(), `${activation}-${layerNorm}.pt`);
      const tensors = writeDemoHypernetwork(path, { widths: [width], layerStructure: [1, 2, 1.5, 1], activation, layerNorm, seed: 4 });
      for (const [side, index] of [['key', 0], ['value', 1]] as const) {
        const got = await runMlp(path, width, side, x);
        const expected = referenceMlp(tensors, `${width}.${index}.`, x, width, activation, layerNorm);
        assert.ok(maxAbsDiff(got, expected) < 1e-5, `${activation} layerNorm=${layerNorm} ${side}: max diff ${maxAbsDiff(got, expected)}`);
      }
    }
  }
});

test('in the UNet: strength 0 is the plain UNet bitwise; a strength changes it; a second net at 0 keeps the first\'s result', async () => {
  const dir = tempDir();
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const { unet } = checkpoint.config;
  const widths = [...new Set([...unet.blockOutChannels, unet.crossAttentionDim])];
  const first = join(dir, 'first.pt'), second = join(dir, 'second.pt');
  writeDemoHypernetwork(first, { widths, layerStructure: [1, 2, 1], activation: 'tanh', seed: 5 });
  writeDemoHypernetwork(second, { widths: [unet.blockOutChannels[0]], layerStructure: [1, 1], activation: 'linear', seed: 6 });
  const feeds = {
    [UNET_INPUT.sample]: { dims: [2, 4, 8, 8], data: noise(2 * 4 * 64, 7) },
    [UNET_INPUT.timestep]: { dims: [2], data: Float32Array.of(981, 1) },
    [UNET_INPUT.encoderHiddenStates]: { dims: [2, 77, unet.crossAttentionDim], data: noise(2 * 77 * unet.crossAttentionDim, 8) },
  };
  const run = async (nets: string[], strengths: number[]) => {
    const g = buildUnetGraph(checkpoint, nets.length ? { hypernetwork: { nets: nets.map((path) => ({ path })) } } : {});
    const session = await createSession(saveModel(g, join(tempDir(), 'unet')), { device: 'cpu', threads: 1 });
    try {
      const extra = Object.fromEntries(strengths.map((s, i) => [HYPERNETWORK_INPUT.strength(i), { dims: [1], data: Float32Array.of(s) }]));
      return (await session.run({ ...feeds, ...extra }, [UNET_OUTPUT]))[UNET_OUTPUT].data;
    } finally {
      await session.release();
    }
  };
  const plain = await run([], []);
  assert.deepEqual(await run([first], [0]), plain);
  const strong = await run([first], [0.8]);
  assert.ok(maxAbsDiff(strong, plain) > 1e-3, 'strength 0.8 changes the prediction');
  assert.deepEqual(await run([first, second], [0.8, 0]), strong);
  assert.ok(maxAbsDiff(await run([first, second], [0.8, 1]), strong) > 1e-4, 'the second net acts when its strength is not 0');
});
