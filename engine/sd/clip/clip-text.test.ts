// Parity of the CLIP text encoder graph with the sd15-tiny goldens (text_encoder.safetensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../../onnx/index.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { sdModelPath } from '../graph-models.ts';
import { buildClipTextGraph } from './clip-text.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose } from '../test-fixture.ts';
import { tempDir, maxAbsDiff, maxAbs } from '../../onnx/test-helpers.ts';

const golden = goldens('text_encoder.safetensors');

test('CLIP text encoder matches last, penultimate (final LN), pooled and empty-prompt goldens', async () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const { path, built } = sdModelPath(tempDir(), checkpoint, { kind: 'clip-text', options: { stopAtLayer: -2, pooled: true } });
  assert.equal(built, true);
  const session = await createSession(path, { device: 'cpu', threads: 1 });
  try {
    const ids = golden('input_ids');
    const out = await session.run({ input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
    assert.deepEqual(out.last_hidden_state.dims, [2, 77, 32]);
    assertClose(out.last_hidden_state.data, golden('last_hidden_state').data, 'last_hidden_state');
    assertClose(out.hidden_state.data, golden('penultimate_hidden_state_final_ln').data, 'penultimate_hidden_state_final_ln');
    assertClose(out.pooled_output.data, golden('pooled_output').data, 'pooled_output');
    const empty = golden('empty_input_ids');
    const outEmpty = await session.run({ input_ids: { dims: empty.dims, data: empty.int64!, type: 'int64' } });
    assertClose(outEmpty.last_hidden_state.data, golden('empty_last_hidden_state').data, 'empty_last_hidden_state');
  } finally {
    await session.release();
  }
});

test('stopAtLayer outside the model is refused', () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  assert.throws(() => buildClipTextGraph(checkpoint, { stopAtLayer: -3 }), /stopAtLayer -3 is out of range: use -1 \(last layer\) to -2/);
  assert.throws(() => buildClipTextGraph(checkpoint, { stopAtLayer: 0 }), /out of range/);
});

test('a float16 graph (the GPU variant) also runs, within float16 precision', async () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const session = await createSession(sdModelPath(tempDir(), checkpoint, { kind: 'clip-text', options: { compute: 'float16' } }).path, { device: 'cpu', threads: 1 });
  try {
    const ids = golden('input_ids');
    const out = await session.run({ input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
    const ref = golden('last_hidden_state').data;
    // float16 keeps ~3 decimal digits; measured max diff 2.4e-3 for |ref| ≤ 3.9.
    assert.ok(maxAbsDiff(out.last_hidden_state.data, ref) < 5e-3 * (1 + maxAbs(ref)));
  } finally {
    await session.release();
  }
});
