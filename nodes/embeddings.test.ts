// embedding:NAME lookup for CLIPTextEncode: models/embeddings with ComfyUI's extension order, subfolders, and names
// that try to leave the folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { embeddingLookup } from './embeddings.ts';
import { createTestContext } from './test-context.ts';

test('embeddings are found by name with or without extension, in subfolders, never outside the folders', async () => {
  const t = await createTestContext();
  try {
    const folder = join(t.folders.models, 'embeddings');
    mkdirSync(join(folder, 'neg'), { recursive: true });
    const vec = (v: number) => ({ emb_params: { dtype: 'F32' as const, shape: [1, 4], data: new Float32Array(4).fill(v) } });
    writeSafetensors(join(folder, 'easy.safetensors'), vec(1));
    writeSafetensors(join(folder, 'neg', 'bad.safetensors'), vec(2));
    writeSafetensors(join(t.folders.models, 'secret.safetensors'), vec(3));
    const lookup = embeddingLookup(t.folders, 4);
    assert.deepEqual([...lookup('easy')![0]], [1, 1, 1, 1]);
    assert.deepEqual([...lookup('easy.safetensors')![0]], [1, 1, 1, 1]);
    assert.deepEqual([...lookup('neg/bad')![0]], [2, 2, 2, 2]);
    assert.equal(lookup('missing'), null);
    assert.equal(lookup('../secret'), null);
    assert.equal(lookup('/etc/passwd'), null);
    assert.throws(() => embeddingLookup(t.folders, 8)('easy'), /takes 8-wide vectors/);
  } finally {
    await t.dispose();
  }
});
