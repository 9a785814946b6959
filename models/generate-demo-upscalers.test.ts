// The committed demo upscalers are exactly what models/generate-demo-upscalers.ts writes, and each is recognised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { openUpscaleModel } from '../engine/upscale/index.ts';
import { writeDemoUpscalers, DEMO_UPSCALER_FOLDER } from './generate-demo-upscalers.ts';

test('models/upscale_models demo files are the generator\'s output and load as upscalers', () => {
  const written = writeDemoUpscalers(tempDir());
  assert.equal(written.length, 2);
  for (const path of written) {
    const committed = join(DEMO_UPSCALER_FOLDER, basename(path));
    assert.ok(readFileSync(path).equals(readFileSync(committed)), `${committed} differs; regenerate with: node --import tsx models/generate-demo-upscalers.ts`);
    assert.equal(openUpscaleModel(committed).arch.scale, 4);
  }
});
