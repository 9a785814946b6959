// Binary preview framing of comfyui-api.md §3.4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewFrame } from './ws-hub.ts';

const preview = { node: '3', display_node: '3', prompt_id: 'p1', frame: { format: 'PNG' as const, data: Uint8Array.from([9, 8, 7]) } };

test('type 1: event, image format code, bytes', () => {
  const frame = previewFrame({ supportsPreviewMetadata: false }, preview);
  assert.deepEqual([...frame], [0, 0, 0, 1, 0, 0, 0, 2, 9, 8, 7]);
});

test('type 4: event, metadata length, metadata JSON, bytes', () => {
  const frame = previewFrame({ supportsPreviewMetadata: true }, preview);
  assert.equal(frame.readUInt32BE(0), 4);
  const length = frame.readUInt32BE(4);
  assert.deepEqual(JSON.parse(frame.subarray(8, 8 + length).toString()), {
    node_id: '3', prompt_id: 'p1', display_node_id: '3', parent_node_id: null, real_node_id: '3', image_type: 'image/png',
  });
  assert.deepEqual([...frame.subarray(8 + length)], [9, 8, 7]);
});
