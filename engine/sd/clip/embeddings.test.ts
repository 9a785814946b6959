// Textual inversion: an embedding whose vectors are the token-table rows of "a cat" encodes exactly like the words
// (A1111 .pt and .safetensors formats); missing names are warned about and dropped; wrong widths are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors } from '../../onnx/index.ts';
import { tempDir } from '../../onnx/test-helpers.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { loadTokenizer } from './tokenizer.ts';
import { SdRuntime } from '../runtime.ts';
import { encodeText } from './text-encode.ts';
import { readEmbedding, EmbeddingError } from './embeddings.ts';
import { FIXTURE_CHECKPOINT, assertClose } from '../test-fixture.ts';
import { stateDictPickle, writeTorchZip } from '../checkpoint/test-torch-file.ts';

test('embedding:NAME encodes its vectors in place of tokens (A1111 .pt and emb_params .safetensors)', async () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const tokenizer = await loadTokenizer({});
  const width = checkpoint.config.clip.hiddenSize;
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  const ref = checkpoint.textEncoder.weight('text_model.embeddings.token_embedding.weight');
  const table = src.read([...src.tensors.values()].find((t) => t.offset === ref.offset)!.name);
  const rows = (text: string) => {
    const ids = tokenizer.encode(text);
    const data = new Float32Array(ids.length * width);
    ids.forEach((id, i) => data.set(table.subarray(id * width, (id + 1) * width), i * width));
    return { data, count: ids.length };
  };
  const dir = tempDir();
  const cat = rows('a cat');
  writeTorchZip(join(dir, 'catemb.pt'), stateDictPickle({ '*': { dtype: 'F32', shape: [cat.count, width], data: cat.data } }, 'string_to_param', { name: 'catemb', step: 500 }), [new Uint8Array(cat.data.buffer)]);
  const dog = rows('small dog');
  writeSafetensors(join(dir, 'dogemb.safetensors'), { emb_params: { dtype: 'F32', shape: [dog.count, width], data: dog.data } });
  assert.equal(readEmbedding(join(dir, 'catemb.pt'), width).length, cat.count);
  writeSafetensors(join(dir, 'sdxl.safetensors'), { clip_g: { dtype: 'F32', shape: [2, 1280], data: new Float32Array(2560) } });
  assert.throws(() => readEmbedding(join(dir, 'sdxl.safetensors'), width), (e: Error) => e instanceof EmbeddingError && e.message.includes(`[2,1280]; this text encoder takes ${width}-wide`));

  const lookup = (name: string) => ({ catemb: 'catemb.pt', dogemb: 'dogemb.safetensors' } as Record<string, string>)[name];
  const embeddings = (name: string) => (lookup(name) ? readEmbedding(join(dir, lookup(name)), width) : null);
  const runtime = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  try {
    const clip = { checkpoint, tokenizer, stopAtLayer: -1 };
    const logs: string[] = [];
    const encode = (text: string) => encodeText(runtime, clip, text, (m) => logs.push(m), embeddings);
    const viaEmbeddings = await encode('embedding:catemb sitting next to a embedding:dogemb');
    const viaWords = await encode('a cat sitting next to a small dog');
    assert.deepEqual(viaEmbeddings.dims, viaWords.dims);
    assertClose(viaEmbeddings.data, viaWords.data, 'embeddings vs words');
    const weighted = await encode('(embedding:catemb:1.3), sitting');
    assertClose(weighted.data, (await encode('(a cat:1.3), sitting')).data, 'weighted embedding');
    const other = await encode('sitting next to a embedding:dogemb');
    assert.ok(other.data.some((x, i) => Math.abs(x - viaWords.data[i]) > 1e-3), 'an embedding changes the encoding');
    const missing = await encode('embedding:nothere sitting');
    assert.deepEqual([...missing.data], [...(await encode('sitting')).data]);
    assert.ok(logs.includes('warning, embedding:nothere does not exist, ignoring'));
  } finally {
    await runtime.release();
  }
});
