// The committed demo LoRA is exactly what models/generate-demo-lora.ts writes, and every key of it reaches a layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { openCheckpoint, openLora } from '../engine/sd/index.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { demoLoraTensors, DEMO_LORA, DEMO_CHECKPOINT } from './generate-demo-lora.ts';

test('models/loras/invgraph-demo-lora.safetensors is the generator\'s output and matches the demo checkpoint', () => {
  const out = join(tempDir(), 'lora.safetensors');
  writeSafetensors(out, demoLoraTensors(), { generator: 'invgraph demo LoRA (models/generate-demo-lora.ts)' });
  assert.ok(readFileSync(out).equals(readFileSync(DEMO_LORA)), 'regenerate with: node --import tsx models/generate-demo-lora.ts');
  const lora = openLora(DEMO_LORA, openCheckpoint(DEMO_CHECKPOINT));
  assert.deepEqual(lora.unmatched, []);
  assert.ok(lora.unet.size >= 50 && lora.textEncoder.size >= 4);
});
