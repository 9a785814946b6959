// The committed demo control models are exactly what models/generate-demo-control.ts writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { demoDiffControlnetTensors, DIFF_METADATA, CONTROL_DIR, DEMO_DIFF_CONTROLNET } from './generate-demo-control.ts';

test('models/controlnet/invgraph-demo-tiny-diff-controlnet.safetensors is the generator\'s output', () => {
  const out = join(tempDir(), 'diff.safetensors');
  writeSafetensors(out, demoDiffControlnetTensors(), DIFF_METADATA);
  assert.ok(readFileSync(out).equals(readFileSync(join(CONTROL_DIR, DEMO_DIFF_CONTROLNET))), 'regenerate with: node --import tsx models/generate-demo-control.ts');
});
