// TAESD, the tiny autoencoder ComfyUI uses for full-size live previews (`--preview-method taesd`): its decoder
// file (models/vae_approx/taesd_decoder.safetensors / .pth, madebyollin's layout: one nn.Sequential, keys
// `1.weight`, `3.conv.0.weight`, …, optionally under `taesd_decoder.`) as an ONNX graph over the file's bytes.
// Input `latent` [1,4,h,w] in the UNet's (scaled) latent space, output `image` [1,3,8h,8w] in [-1,1] (TAESD's
// [0,1] output mapped as ComfyUI's TAESD.decode does).
import { GraphBuilder, Module, conv2d, add, mul, unary, resizeNearest, cachedModel, checkpointFingerprint, safetensorsSource } from '../../onnx/index.ts';
import type { Value, WeightSource } from '../../onnx/index.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';

export class TaesdError extends Error {}

/** Bump when the graph built for the same file changes (graph cache key). */
const TAESD_GRAPH_VERSION = 'taesd-1';
const WIDTH = 64; // every hidden layer of TAESD
const LATENT_CHANNELS = 4; // SD1.x

/** The decoder's nn.Sequential: where its convs and blocks sit (indices are the file's key prefixes). */
const FIRST_CONV = 1;
const STAGES = [[3, 4, 5], [8, 9, 10], [13, 14, 15], [18]] as const; // Blocks; an Upsample + bias-free conv follows each of the first three
const UP_CONVS = [7, 12, 17] as const;
const LAST_CONV = 19;

export interface TaesdDecoder {
  path: string;
  weights: WeightSource;
  fingerprint: string;
}

const relu = (x: Value): Value => x.graph.addNode({ opType: 'Relu', inputs: [x], outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope })[0];
const conv3 = (m: Module, x: Value): Value => conv2d(m, x, { pad: 1 });

/** Block: relu(conv(relu(conv(relu(conv(x))))) + x) (64 → 64, so the skip is the identity). */
function block(m: Module, x: Value): Value {
  const c = m.at('conv');
  const h = conv3(c.at(4), relu(conv3(c.at(2), relu(conv3(c.at(0), x)))));
  return relu(add(h, x));
}

/** Opens a TAESD decoder file; refuses other files, saying what was expected. */
export function openTaesdDecoder(path: string): TaesdDecoder {
  const file = openTensorFile(path, TaesdError);
  const prefix = ['', 'taesd_decoder.'].find((p) => file.tensors.has(`${p}${FIRST_CONV}.weight`) && file.tensors.has(`${p}${LAST_CONV}.weight`));
  if (prefix === undefined) {
    const keys = [...file.tensors.keys()];
    throw new TaesdError(`${path} is not a TAESD decoder: expected keys ${FIRST_CONV}.weight … ${LAST_CONV}.weight (madebyollin's taesd_decoder), found e.g. ${keys.slice(0, 3).join(', ') || 'no tensors'}`);
  }
  const first = file.tensors.get(`${prefix}${FIRST_CONV}.weight`)!.shape;
  const last = file.tensors.get(`${prefix}${LAST_CONV}.weight`)!.shape;
  if (first.join() !== [WIDTH, LATENT_CHANNELS, 3, 3].join() || last.join() !== [3, WIDTH, 3, 3].join()) {
    throw new TaesdError(`${path}: a TAESD decoder for 4-channel (SD1.x) latents has ${FIRST_CONV}.weight [64,4,3,3] and ${LAST_CONV}.weight [3,64,3,3]; this file has [${first}] and [${last}] (another model family's TAESD?)`);
  }
  const source = safetensorsSource(file);
  const weights: WeightSource = { has: (name) => source.has(prefix + name), weight: (name) => source.weight(prefix + name) };
  return { path, weights, fingerprint: checkpointFingerprint(file) };
}

/** The decoder graph: tanh clamp, conv, 3 × (blocks, 2× nearest upsample, conv), a last block and conv. */
export function buildTaesdDecoderGraph(weights: WeightSource): GraphBuilder {
  const g = new GraphBuilder({ name: 'taesd_decoder', compute: 'float32' });
  const root = new Module(g, weights, '');
  const latent = g.input('latent', 'float32', [1, LATENT_CHANNELS, 'h', 'w']);
  let h = mul(unary('Tanh', mul(latent, 1 / 3)), 3); // Clamp
  h = relu(conv3(root.at(FIRST_CONV), h));
  STAGES.forEach((blocks, stage) => {
    for (const index of blocks) h = block(root.at(index), h);
    if (stage < UP_CONVS.length) h = conv3(root.at(UP_CONVS[stage]), resizeNearest(h, { scale: 2 }));
  });
  const image = conv3(root.at(LAST_CONV), h); // [0,1] as trained
  g.output(add(mul(image, 2), -1), 'image');
  return g;
}

/** Path of the decoder's graph in the graph cache (built on first use). */
export function taesdModelPath(cacheDir: string, decoder: TaesdDecoder): { path: string; built: boolean } {
  return cachedModel(cacheDir, { name: 'taesd-decoder', checkpoints: [decoder.fingerprint], variant: { version: TAESD_GRAPH_VERSION } }, () => buildTaesdDecoderGraph(decoder.weights));
}
