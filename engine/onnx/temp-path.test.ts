import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTempPath } from './temp-path.ts';

test('temporary folder names never repeat within one process and millisecond', () => {
  const names = new Set(Array.from({ length: 1000 }, () => uniqueTempPath('/cache/unet-abc')));
  assert.equal(names.size, 1000);
  for (const name of names) assert.match(name, /^\/cache\/unet-abc\.tmp-\d+-[0-9a-f]{12}$/);
});
