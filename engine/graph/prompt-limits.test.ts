import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiPrompt } from './prompt-types.ts';
import { DEFAULT_PROMPT_LIMITS, promptLimitErrors } from './prompt-limits.ts';

const limits = { maxImagePixels: 1000, maxBatchPixels: 3000, maxSteps: 50 };

function txt2img(width: number, height: number, batch: number, steps: number): ApiPrompt {
  return {
    '5': { class_type: 'EmptyLatentImage', inputs: { width, height, batch_size: batch } },
    '3': { class_type: 'KSampler', inputs: { latent_image: ['5', 0], steps } },
    '9': { class_type: 'SaveImage', inputs: { images: ['3', 0] } },
    // Not an ancestor of the output: never runs, so never refused.
    '7': { class_type: 'EmptyLatentImage', inputs: { width: 99999, height: 99999, batch_size: 1 } },
  };
}

test('within the limits: no errors', () => {
  assert.deepEqual(promptLimitErrors(txt2img(40, 25, 3, 50), ['9'], limits), {});
});

test('too many pixels, too big a batch and too many steps each name their node and input', () => {
  const tooWide = promptLimitErrors(txt2img(50, 25, 1, 10), ['9'], limits);
  assert.deepEqual(Object.keys(tooWide), ['5']);
  assert.equal(tooWide['5'].class_type, 'EmptyLatentImage');
  assert.deepEqual(tooWide['5'].dependent_outputs, ['9']);
  assert.equal(tooWide['5'].errors[0].type, 'value_exceeds_server_limit');
  assert.match(tooWide['5'].errors[0].message, /50x25 is 1250 pixels, more than this server allows per image \(1000\).*--max-image-pixels/);

  const bigBatch = promptLimitErrors(txt2img(40, 25, 4, 10), ['9'], limits);
  assert.match(bigBatch['5'].errors[0].message, /a batch of 4 at 40x25 is 4000 pixels.*--max-batch-pixels/);
  assert.equal(bigBatch['5'].errors[0].extra_info.input_name, 'batch_size');

  const longRun = promptLimitErrors(txt2img(10, 10, 1, 51), ['9'], limits);
  assert.deepEqual(Object.keys(longRun), ['3']);
  assert.match(longRun['3'].errors[0].message, /51 steps is more than this server allows \(50\).*--max-steps/);
});

test('0 turns a limit off; wired (non-literal) values are left to run time', () => {
  assert.deepEqual(promptLimitErrors(txt2img(5000, 5000, 64, 9999), ['9'], { maxImagePixels: 0, maxBatchPixels: 0, maxSteps: 0 }), {});
  const wired: ApiPrompt = { '1': { class_type: 'ImageScale', inputs: { width: ['2', 0], height: 512 } } };
  assert.deepEqual(promptLimitErrors(wired, ['1'], limits), {});
});

test('the defaults refuse the issue\'s 4096x4096 txt2img and keep SD 1.5 sizes', () => {
  assert.ok(promptLimitErrors(txt2img(4096, 4096, 1, 20), ['9'], DEFAULT_PROMPT_LIMITS)['5']);
  assert.deepEqual(promptLimitErrors(txt2img(1024, 1024, 4, 20), ['9'], DEFAULT_PROMPT_LIMITS), {});
});
