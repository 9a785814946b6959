// Feature bank files: step-by-step writing, float16 round trip, completeness checks, nearest-timestep lookup,
// and the size formula quoted in the docs (SD1.5 at 512², 50 steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, fromFloat16, toFloat16 } from '../../onnx/index.ts';
import { FeatureBankWriter, openFeatureBank, readFeatureStep, nearestTimestep, featureBankBytes, featureKey, FeatureBankError } from './feature-bank.ts';
import type { FeatureBank } from './feature-bank.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { SD15_UNET } from '../checkpoint/config.ts';
import { referenceGridSide } from './inv-adapter.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const dir = tempDir();
const blocks = [{ name: 'down_blocks.0.attentions.0', tokens: 4, width: 3 }, { name: 'mid_block.attentions.0', tokens: 1, width: 2 }];

function stepFeatures(seed: number) {
  return Object.fromEntries(blocks.flatMap((b, i) => (['self', 'cross'] as const).map((side, j) =>
    [`features.${b.name}.${side}`, { dims: [1, b.tokens, b.width], data: noise(b.tokens * b.width, seed * 10 + i * 2 + j + 1).map((v) => v * 5) }])));
}

test('a bank written step by step reads back per step as the float16-rounded features', () => {
  const bank: FeatureBank = { path: join(dir, 'bank.safetensors'), model: 'unet-sha256:abc', timesteps: [901, 501, 101], latentSize: [2, 2], blocks };
  const writer = new FeatureBankWriter(bank);
  const written = bank.timesteps.map((t, i) => {
    const f = stepFeatures(i);
    writer.writeStep(t, f);
    return f;
  });
  assert.ok(!existsSync(bank.path), 'the file appears only when complete');
  writer.finish();
  const opened = openFeatureBank(bank.path);
  assert.deepEqual(opened, bank);
  bank.timesteps.forEach((t, i) => {
    const step = readFeatureStep(opened, t);
    for (const b of blocks) {
      for (const side of ['self', 'cross'] as const) {
        const expected = fromFloat16(new Uint8Array(toFloat16(written[i][`features.${b.name}.${side}`].data).buffer));
        assert.deepEqual(step.get(`${b.name}.${side}`), { dims: [1, b.tokens, b.width], data: expected });
      }
    }
  });
});

test('an aborted bank leaves no file; writing out of order is refused', () => {
  const bank: FeatureBank = { path: join(dir, 'aborted.safetensors'), model: 'm', timesteps: [501, 1], latentSize: [2, 2], blocks };
  const writer = new FeatureBankWriter(bank);
  writer.writeStep(501, stepFeatures(0));
  assert.throws(() => writer.writeStep(501, stepFeatures(1)), /expected 't1\.down_blocks/);
  writer.abort();
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('aborted')), []);
});

test('files that are not complete banks are refused with a message saying what they are', () => {
  const other = join(dir, 'adapter.safetensors');
  writeSafetensors(other, { x: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { format: 'inv-adapter' });
  assert.throws(() => openFeatureBank(other), (e: Error) => e instanceof FeatureBankError && /not a diffusion feature bank.*"inv-adapter"/.test(e.message));
  const partial = join(dir, 'partial.safetensors');
  const meta = { format: 'inv-features', timesteps: '[501,1]', latent_size: '[2,2]', blocks: JSON.stringify(blocks), model: 'm' };
  writeSafetensors(partial, { [featureKey(501, blocks[0].name, 'self')]: { dtype: 'F16', shape: [1, 4, 3], data: new Uint16Array(12) } }, meta);
  assert.throws(() => openFeatureBank(partial), /incomplete or damaged: 't501\.down_blocks\.0\.attentions\.0\.cross'/);
  assert.throws(() => openFeatureBank(join(dir, 'missing.safetensors')), (e: Error) => e instanceof FeatureBankError && /does not exist/.test(e.message));
});

test('nearest recorded timestep; ties go to the noisier one', () => {
  const recorded = [981, 961, 941, 21, 1];
  assert.equal(nearestTimestep(recorded, 981), 981);
  assert.equal(nearestTimestep(recorded, 999), 981);
  assert.equal(nearestTimestep(recorded, 951), 961);
  assert.equal(nearestTimestep(recorded, 500), 941);
  assert.equal(nearestTimestep(recorded, 0), 1);
});

test('SD1.5 at 512×512 with 50 steps: 23,101,440 values per step, 46.2 MB per step, 2.31 GB per bank (fp16)', () => {
  const sd15 = transformerBlocks(SD15_UNET).map((b) => ({ name: b.name, tokens: referenceGridSide(512, b.level) ** 2, width: b.width }));
  assert.deepEqual(sd15.map((b) => b.tokens), [4096, 4096, 1024, 1024, 256, 256, 64, 256, 256, 256, 1024, 1024, 1024, 4096, 4096, 4096]);
  assert.equal(featureBankBytes(sd15, 1), 23_101_440 * 2);
  assert.equal(featureBankBytes(sd15, 50), 2_310_144_000);
});
