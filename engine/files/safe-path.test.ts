import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInside, UnsafePathError } from './safe-path.ts';

function makeTree(): { root: string; folder: string; outside: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'invgraph-safe-')));
  const folder = join(root, 'input');
  const outside = join(root, 'secret');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'passwd'), 'x');
  writeFileSync(join(folder, 'a.png'), 'x');
  writeFileSync(join(folder, 'sub', 'b.png'), 'x');
  symlinkSync(outside, join(folder, 'escape-dir'));
  symlinkSync(join(outside, 'passwd'), join(folder, 'escape-file.png'));
  symlinkSync(join(folder, 'a.png'), join(folder, 'inner-link.png'));
  return { root, folder, outside };
}

const traversals = [
  '',
  '../secret/passwd',
  '..',
  'sub/../../secret/passwd',
  'sub/../a.png',
  '/etc/passwd',
  '//etc/passwd',
  'C:/Windows/win.ini',
  'c:secret',
  '..\\secret\\passwd',
  'sub\\..\\..\\secret',
  'a.png\0.jpg',
  '.',
  './',
  'sub/..',
  'escape-dir/passwd',
  'escape-file.png',
  'escape-dir/new-file.png',
];

test('resolveInside refuses every traversal variant with UnsafePathError naming the input', () => {
  const { root, folder } = makeTree();
  try {
    for (const name of traversals) {
      assert.throws(
        () => resolveInside(folder, name),
        (error: unknown) => error instanceof UnsafePathError && error.unsafeName === name && error.message.includes(JSON.stringify(name)),
        `expected ${JSON.stringify(name)} to be refused`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('resolveInside accepts plain names, subfolders, new files and symlinks that stay inside', () => {
  const { root, folder } = makeTree();
  try {
    assert.equal(resolveInside(folder, 'a.png'), join(folder, 'a.png'));
    assert.equal(resolveInside(folder, 'sub/b.png'), join(folder, 'sub', 'b.png'));
    assert.equal(resolveInside(folder, './sub//b.png'), join(folder, 'sub', 'b.png'));
    assert.equal(resolveInside(folder, 'not-yet/there.png'), join(folder, 'not-yet', 'there.png'));
    assert.equal(resolveInside(folder, 'inner-link.png'), join(folder, 'inner-link.png'));
    // Percent-escapes and look-alike dots are literal names on disk, not traversal.
    assert.equal(resolveInside(folder, '%2e%2e/x'), join(folder, '%2e%2e', 'x'));
    assert.equal(resolveInside(folder, '\uff0e\uff0e/x'), join(folder, '\uff0e\uff0e', 'x'));
    assert.equal(resolveInside(folder, '...'), join(folder, '...'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
