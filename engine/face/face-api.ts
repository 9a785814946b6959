// The pretrained networks of @vladmandic/face-api (SSD MobileNet v1 face detector, 68-point
// landmark net, dlib-style ResNet-34 face recognition net) on TensorFlow.js's WebAssembly
// backend. The only module that touches tfjs; weights are read from the package's model/ folder.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import type * as Tfjs from '@tensorflow/tfjs';

/** Interleaved 8-bit RGB pixels, row-major. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One face as the networks report it, in the pixel coordinates of the input. */
export interface RawFace {
  box: Rect;
  score: number;
  /** 68 points in iBUG 300-W order (jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67). */
  landmarks: Point[];
  /** The box face-api derives from the landmarks; the recognition net reads this region. */
  alignedBox: Rect;
}

type FaceApiModule = typeof FaceApi;

// face-api's default for SSD MobileNet v1; lower finds more faces and more false ones.
export const MIN_CONFIDENCE = 0.5;
const MAX_FACES = 64;

let loading: Promise<FaceApiModule> | undefined;

const require = createRequire(import.meta.url);

/** Process-wide error listeners, to undo what the wasm runtime adds (see load). */
function errorListeners(): Set<unknown> {
  return new Set([...process.listeners('uncaughtException'), ...process.listeners('unhandledRejection')]);
}

async function load(): Promise<FaceApiModule> {
  // Required on first use so that merely registering the face nodes does not load tfjs. The
  // CommonJS build of face-api wants @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm; the
  // wasm backend reads its .wasm file from its own dist/ folder in Node (no network).
  const before = errorListeners();
  const tf = require('@tensorflow/tfjs') as typeof Tfjs;
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WebAssembly backend');
    await tf.ready();
  } finally {
    // The Emscripten runtime of tfjs-backend-wasm 4.22 adds process listeners that rethrow every
    // uncaught exception and unhandled rejection; they would override the host's own handling.
    for (const listener of process.listeners('uncaughtException')) if (!before.has(listener)) process.off('uncaughtException', listener);
    for (const listener of process.listeners('unhandledRejection')) if (!before.has(listener)) process.off('unhandledRejection', listener);
  }
  const modelFolder = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelFolder);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelFolder);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelFolder);
  return faceapi;
}

/** face-api with the backend and the three networks loaded, once per process; a failed load
 *  is retried on the next call. */
function faceApi(): Promise<FaceApiModule> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** Loads the networks now (the first detection does it otherwise); for warm-up and timing. */
export async function loadFaceModels(): Promise<void> {
  await faceApi();
}

const toRect = (box: Rect): Rect => ({ x: box.x, y: box.y, width: box.width, height: box.height });

/** Runs `body` on the pixels as a [H, W, 3] int32 tensor and frees the tensor afterwards. */
async function withTensor<T>(faceapi: FaceApiModule, pixels: RgbPixels, body: (input: FaceApi.tf.Tensor3D) => Promise<T>): Promise<T> {
  const input = faceapi.tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
  try {
    return await body(input);
  } finally {
    input.dispose();
  }
}

/** Every face the detector finds (score ≥ 0.5), with its landmarks, in detector order. */
export async function detectRawFaces(pixels: RgbPixels): Promise<RawFace[]> {
  const faceapi = await faceApi();
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE, maxResults: MAX_FACES });
  const found = await withTensor(faceapi, pixels, (input) => faceapi.detectAllFaces(input, options).withFaceLandmarks().run());
  return found.map((face) => ({
    box: toRect(face.detection.box),
    score: face.detection.score,
    landmarks: face.landmarks.positions.map((p) => ({ x: p.x, y: p.y })),
    alignedBox: toRect(face.alignedRect.box),
  }));
}

/** The detector's highest score for any face candidate (0 when it has none at all), so that
 *  "no face" can say how close the best candidate came to MIN_CONFIDENCE. */
export async function bestDetectorScore(pixels: RgbPixels): Promise<number> {
  const faceapi = await faceApi();
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.001, maxResults: 1 });
  const found = await withTensor(faceapi, pixels, (input) => faceapi.detectAllFaces(input, options).run());
  return found.reduce((best, face) => Math.max(best, face.score), 0);
}

/** The 128-d descriptor of the face in `alignedBox` (from detectRawFaces on the same pixels). */
export async function computeRawDescriptor(pixels: RgbPixels, alignedBox: Rect): Promise<Float32Array> {
  const faceapi = await faceApi();
  return withTensor(faceapi, pixels, async (input) => {
    const region = new faceapi.Rect(alignedBox.x, alignedBox.y, alignedBox.width, alignedBox.height);
    const [faceTensor] = await faceapi.extractFaceTensors(input, [region]);
    try {
      const descriptor = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(faceTensor);
      if (!(descriptor instanceof Float32Array)) throw new Error('face recognition net returned a batch for one face');
      return descriptor;
    } finally {
      faceTensor.dispose();
    }
  });
}

/** Tensors tfjs holds right now (0 before the first load); for leak checks. */
export function liveTensorCount(): number {
  if (!loading) return 0;
  return (require('@tensorflow/tfjs') as typeof Tfjs).memory().numTensors;
}
