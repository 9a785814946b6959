import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nextCounterFilename, expandPrefixTokens } from './counter-name.ts';
import { UnsafePathError } from './safe-path.ts';
import { parseAnnotatedName } from './annotated-name.ts';

function tempFolder(): string {
  return mkdtempSync(join(tmpdir(), 'invgraph-counter-'));
}

test('first name is <prefix>_00001_.png, then max existing + 1 (gaps are not reused)', async () => {
  const dir = tempFolder();
  try {
    const first = await nextCounterFilename(dir, 'ComfyUI', 'png');
    assert.deepEqual(first, { path: join(dir, 'ComfyUI_00001_.png'), subfolder: '', filename: 'ComfyUI_00001_.png', counter: 1 });
    writeFileSync(join(dir, 'ComfyUI_00001_.png'), '');
    writeFileSync(join(dir, 'ComfyUI_00007_.png'), '');
    writeFileSync(join(dir, 'ComfyUI_00003_.webp'), '');
    writeFileSync(join(dir, 'ComfyUI_temp_abcde_00042_.png'), ''); // "temp" is not a counter
    writeFileSync(join(dir, 'ComfyUIx_00099_.png'), ''); // another prefix
    writeFileSync(join(dir, 'Other_00050_.png'), '');
    const next = await nextCounterFilename(dir, 'ComfyUI', 'png');
    assert.equal(next.filename, 'ComfyUI_00008_.png');
    assert.equal(next.counter, 8);
    writeFileSync(join(dir, 'ComfyUI_123456_.png'), '');
    assert.equal((await nextCounterFilename(dir, 'ComfyUI', 'png')).filename, 'ComfyUI_123457_.png');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prefix with subfolders creates them inside the folder and reports the subfolder', async () => {
  const dir = tempFolder();
  try {
    const name = await nextCounterFilename(dir, 'portraits/2026/face', 'png');
    assert.equal(name.subfolder, 'portraits/2026');
    assert.equal(name.filename, 'face_00001_.png');
    assert.equal(name.path, join(dir, 'portraits', '2026', 'face_00001_.png'));
    assert.ok(existsSync(join(dir, 'portraits', '2026')));
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'face_00009_.png'), '');
    // Another folder's counters do not count; the first call reserved face_00001_.png.
    assert.equal((await nextCounterFilename(dir, 'portraits/2026/face', 'png')).counter, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prefix that would leave the output folder is refused', async () => {
  const dir = tempFolder();
  try {
    for (const prefix of ['../evil', '/tmp/evil', 'a/../../evil', '..\\evil', '']) {
      await assert.rejects(nextCounterFilename(dir, prefix, 'png'), UnsafePathError, prefix);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('expandPrefixTokens fills size and local date tokens', () => {
  const now = new Date(2026, 0, 5, 7, 8, 9);
  assert.equal(
    expandPrefixTokens('img_%width%x%height%/%year%-%month%-%day%_%hour%%minute%%second%', { width: 512, height: 768, now }),
    'img_512x768/2026-01-05_070809',
  );
});

test('parseAnnotatedName splits the folder annotation', () => {
  assert.deepEqual(parseAnnotatedName('a.png [output]'), { name: 'a.png', folder: 'output' });
  assert.deepEqual(parseAnnotatedName('sub/a.png [temp]'), { name: 'sub/a.png', folder: 'temp' });
  assert.deepEqual(parseAnnotatedName('a.png [input]'), { name: 'a.png', folder: 'input' });
  assert.deepEqual(parseAnnotatedName('a [x].png'), { name: 'a [x].png', folder: undefined });
});

test('names picked at the same time never collide (workers sharing one output folder)', async () => {
  const dir = tempFolder();
  try {
    const names = await Promise.all(Array.from({ length: 12 }, () => nextCounterFilename(dir, 'shared/ComfyUI', 'png')));
    assert.equal(new Set(names.map((n) => n.filename)).size, 12);
    assert.ok(names.every((n) => existsSync(n.path)), 'each name is reserved on disk');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
