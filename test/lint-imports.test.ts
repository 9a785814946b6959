// The import lint must catch what it promises: a cycle (also through type-only imports), a reach into
// another engine folder past its index.ts; and a clean tree passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkImports, findCycles } from './lint-imports.mjs';

type Check = (root: string) => { problems: string[]; fileCount: number };

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'invgraph-lint-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('a three-file cycle is reported with its path; a chain without a loop is not', () => {
  const root = tree({
    'engine/a/index.ts': "export { x } from './one.ts';\n",
    'engine/a/one.ts': "import { y } from './two.ts';\nexport const x = y;\n",
    'engine/a/two.ts': "import type { Z } from './three.ts';\nexport const y = 1 as Z;\n",
    'engine/a/three.ts': "import { x } from './one.ts';\nexport type Z = number; void x;\n",
    'engine/b/index.ts': "import { x } from '../a/index.ts';\nexport const w = x;\n",
  });
  try {
    const { problems, fileCount } = (checkImports as Check)(root);
    assert.equal(fileCount, 5);
    assert.deepEqual(problems, ['import cycle: engine/a/one.ts → engine/a/two.ts → engine/a/three.ts → engine/a/one.ts']);
    writeFileSync(join(root, 'engine/a/three.ts'), 'export type Z = number;\n');
    assert.deepEqual((checkImports as Check)(root).problems, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a folder import counts as its index.ts, and reaching past another folder index is flagged', () => {
  const root = tree({
    'engine/a/index.ts': "import { b } from '../b';\nexport const a = b;\n",
    'engine/b/index.ts': "export { b } from './b.ts';\n",
    'engine/b/b.ts': "import { a } from '../a/index.ts';\nexport const b = 1; void a;\n",
    'engine/c/index.ts': "import { b } from '../b/b.ts';\nexport const c = b;\n",
  });
  try {
    const { problems } = (checkImports as Check)(root);
    assert.ok(problems.includes('engine/c/index.ts: imports engine/b/b.ts; other engine folders are reached through their index.ts'), problems.join('\n'));
    assert.ok(problems.includes('import cycle: engine/a/index.ts → engine/b/index.ts → engine/b/b.ts → engine/a/index.ts'), problems.join('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an engine file the editor bundles must not import a package; type-only imports do not count', () => {
  const root = tree({
    'engine/graph/index.ts': "export { pure } from './pure.ts';\nexport { heavy } from './heavy.ts';\n",
    'engine/graph/pure.ts': "import type { Ajv } from 'ajv';\nexport const pure = 1 as unknown as Ajv;\n",
    'engine/graph/heavy.ts': "import { Ajv } from 'ajv';\nexport const heavy = new Ajv();\n",
    'ui/src/a.ts': "import type { heavy } from '../../engine/graph/index.ts';\nimport { pure } from '../../engine/graph/pure.ts';\nexport const a: typeof heavy = pure;\n",
  });
  try {
    assert.deepEqual((checkImports as Check)(root).problems, []);
    writeFileSync(join(root, 'ui/src/b.ts'), "import { heavy } from '../../engine/graph/index.ts';\nexport const b = heavy;\n");
    assert.deepEqual((checkImports as Check)(root).problems, [
      'engine/graph/heavy.ts: imports ajv, but the browser editor bundles this file (via ui/src/b.ts); the editor may only use pure engine modules',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('findCycles: self-import and two separate loops', () => {
  const edges = new Map<string, Set<string>>([
    ['a', new Set(['a'])], ['b', new Set(['c'])], ['c', new Set(['b', 'd'])], ['d', new Set()],
  ]);
  assert.deepEqual((findCycles as (e: Map<string, Set<string>>) => string[][])(edges), [['a', 'a'], ['b', 'c', 'b']]);
});
