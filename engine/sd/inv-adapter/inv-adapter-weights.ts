// Reading a few UNet weights' bytes straight from the checkpoint file(s), for the training-free adapter
// (inv-adapter.md §5) and the content identity that ties feature banks to the model that recorded them.
import { openSync, readSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { toFloat16, fromFloat16 } from '../../onnx/index.ts';
import type { WeightRef, StDType } from '../../onnx/index.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';

/** The raw little-endian bytes a weight reference points at. */
export function readWeightBytes(ref: WeightRef): Uint8Array {
  const out = Buffer.alloc(ref.length);
  const fd = openSync(ref.file, 'r');
  try {
    let done = 0;
    while (done < ref.length) {
      const n = readSync(fd, out, done, ref.length - done, ref.offset + done);
      if (n === 0) throw new Error(`${ref.file} ends before the ${ref.length} bytes at offset ${ref.offset}: the file is truncated`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** safetensors dtype of a float weight reference (adapter copies keep the checkpoint's precision). */
export function stDtype(ref: WeightRef): StDType {
  switch (ref.dtype) {
    case 'float32': return 'F32';
    case 'float16': return 'F16';
    case 'bfloat16': return 'BF16';
    default: throw new Error(`weight of dtype ${ref.dtype} in ${ref.file} is not a float tensor`);
  }
}

const ITEM_BYTES: Partial<Record<string, number>> = { float32: 4, float16: 2, bfloat16: 2 };

/** The first `count` values of a float weight as float32. */
function leadingValues(ref: WeightRef, count: number): Float32Array {
  const item = ITEM_BYTES[ref.dtype];
  if (item === undefined) throw new Error(`weight of dtype ${ref.dtype} in ${ref.file} is not a float tensor`);
  const bytes = readWeightBytes({ ...ref, length: Math.min(ref.length, count * item) }).slice();
  if (ref.dtype === 'float16') return fromFloat16(bytes);
  if (ref.dtype === 'float32') return new Float32Array(bytes.buffer);
  return Float32Array.from(new Uint16Array(bytes.buffer), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]);
}

/** Values per weight that enter the identity: enough to tell fine-tunes and merges apart, cheap to read. */
const SAMPLED_VALUES = 1024;

const identities = new WeakMap<Checkpoint, string>();

/**
 * Content identity of a checkpoint's UNet (choice): sha256 over the first 1024 values, rounded to float16, of
 * conv_in, conv_out, the time embedding and every transformer block's attention, feed-forward and norm weights.
 * Unlike the graph cache fingerprint it survives moving or copying the file, and an fp16 copy of fp32 weights
 * matches. Feature banks carry it so that features are never used with another model.
 */
export function unetIdentity(checkpoint: Checkpoint): string {
  const known = identities.get(checkpoint);
  if (known) return known;
  const perBlock = [
    'norm1', 'attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0', 'norm2', 'attn2.to_q', 'attn2.to_k', 'attn2.to_v',
    'attn2.to_out.0', 'norm3', 'ff.net.0.proj', 'ff.net.2',
  ];
  const names = [
    'conv_in.weight', 'conv_out.weight', 'time_embedding.linear_1.weight', 'time_embedding.linear_2.weight',
    ...transformerBlocks(checkpoint.config.unet).flatMap((b) => perBlock.map((p) => `${b.name}.transformer_blocks.0.${p}.weight`)),
  ];
  const hash = createHash('sha256');
  for (const name of names) {
    const ref = checkpoint.unet.weight(name);
    const half = toFloat16(leadingValues(ref, SAMPLED_VALUES));
    hash.update(`${name}[${ref.shape.join(',')}]`).update(new Uint8Array(half.buffer));
  }
  const identity = `unet-sha256:${hash.digest('hex').slice(0, 32)}`;
  identities.set(checkpoint, identity);
  return identity;
}
