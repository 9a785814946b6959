import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { createRegistry } from '../../nodes/index.ts';
import { inputFilesOf } from '../../cli/input-download.ts';

test('the input files a prompt reads: file-upload inputs only, annotations and subfolders understood, links skipped', () => {
  const prompt: ApiPrompt = {
    '1': { class_type: 'LoadImage', inputs: { image: 'faces/a.png' } },
    '2': { class_type: 'LoadImage', inputs: { image: 'b.png [output]' } },
    '3': { class_type: 'LoadImage', inputs: { image: 'faces/a.png' } },
    '4': { class_type: 'CLIPTextEncode', inputs: { text: 'photo.png', clip: ['9', 1] } },
    '5': { class_type: 'LoadImage', inputs: { image: ['7', 0] } },
  };
  assert.deepEqual(inputFilesOf(prompt, createRegistry()), [
    { type: 'input', subfolder: 'faces', filename: 'a.png' },
    { type: 'output', subfolder: '', filename: 'b.png' },
  ]);
});
