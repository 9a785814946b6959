import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';

test('writeFileAtomic writes, replaces and leaves no temp files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-atomic-'));
  try {
    const path = join(dir, 'out.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    await writeFileAtomic(join(dir, 'text.txt'), 'hello');
    assert.equal(readFileSync(join(dir, 'text.txt'), 'utf8'), 'hello');
    assert.deepEqual(readdirSync(dir).sort(), ['out.bin', 'text.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic into a missing folder fails and leaves nothing behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-atomic-'));
  try {
    await assert.rejects(writeFileAtomic(join(dir, 'missing', 'x.png'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
