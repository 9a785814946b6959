// Messages between workers and the server: frames and previews round-trip; anything else found on
// the shared Redis channels is refused instead of crashing a process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callText, parseCall, parseControl } from './event-bus.ts';

test('a preview keeps its bytes; a frame keeps its client, routing and data', () => {
  const bytes = Uint8Array.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]);
  const preview = { node: '3', display_node: '3', prompt_id: 'p', frame: { format: 'JPEG' as const, data: bytes } };
  const back = parseCall(callText({ kind: 'preview', clientId: 'c', preview }));
  assert.deepEqual(back, { kind: 'preview', clientId: 'c', preview });
  const frame = { kind: 'frame' as const, clientId: undefined, orBroadcast: true, type: 'progress', data: { value: 1, max: 2, prompt_id: 'p', node: '3' } };
  assert.deepEqual(parseCall(callText(frame)), frame);
  assert.deepEqual(parseCall(callText({ kind: 'status' })), { kind: 'status' });
});

test('garbage on the channels is refused, not thrown', () => {
  for (const text of ['not json', '[1]', 'null', '{"kind":"frame"}', '{"kind":"preview","preview":{"frame":{"format":"GIF","data":""}}}', '{"kind":"frame","type":"x","orBroadcast":true,"clientId":5}']) {
    assert.equal(parseCall(text), undefined, text);
  }
  assert.deepEqual(parseControl('{"type":"interrupt","promptId":"p"}'), { type: 'interrupt', promptId: 'p' });
  assert.deepEqual(parseControl('{"type":"interrupt"}'), { type: 'interrupt' });
  assert.deepEqual(parseControl('{"type":"free","unloadModels":true,"freeMemory":false}'), { type: 'free', unloadModels: true, freeMemory: false });
  for (const text of ['{"type":"interrupt","promptId":3}', '{"type":"free"}', '{"type":"shutdown"}', '{']) assert.equal(parseControl(text), undefined, text);
});
