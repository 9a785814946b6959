// Issue #12 item 10: a fresh clone runs the shipped image workflows (example.png), and a missing
// image path given to `run --set` says "no image file at PATH", not "unsafe file name".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedInputFolder } from '../../cli/folder-flags.ts';
import { importImageIntoInput } from '../../cli/run.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

test('an empty input folder gets the shipped example images; existing files are never overwritten', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-input-'));
  try {
    const input = join(dir, 'input');
    assert.deepEqual((await seedInputFolder(input)).sort(), ['example-inpaint.png', 'example.png']);
    assert.deepEqual(readFileSync(join(input, 'example.png')), readFileSync(join(ROOT, 'workflows/inputs/example.png')));
    writeFileSync(join(input, 'example.png'), 'mine');
    assert.deepEqual(await seedInputFolder(input), []);
    assert.equal(readFileSync(join(input, 'example.png'), 'utf8'), 'mine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--set with a path to a missing image names the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-input-'));
  try {
    const missing = join(dir, 'nowhere', 'photo.png');
    await assert.rejects(importImageIntoInput(missing, join(dir, 'input'), '--set 10.image'), (error: Error) => {
      return error.message.includes(`--set 10.image: no image file at ${missing}`) && !/unsafe/i.test(error.message);
    });
    await assert.rejects(importImageIntoInput('./nowhere.png', join(dir, 'input'), '--set 10.image'), /no image file at/);
    // A bare name is left for validation to find in the input folder (it lists the folder).
    assert.equal(await importImageIntoInput('not-yet.png', join(dir, 'input'), '--set 10.image'), 'not-yet.png');
    assert.ok(!existsSync(join(dir, 'input', 'photo.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
