// Runs every *.test.ts in the project with Node's own test runner (TypeScript through tsx).
// Usage: node test/run-tests.mjs [path-filter ...]   e.g. `node test/run-tests.mjs engine/graph`
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['engine', 'nodes', 'test', 'models', 'bench'];
const skip = new Set(['node_modules', 'fixtures', 'output', 'dist']);

function collect(dir, found) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, found);
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((r) => { try { return collect(join(root, r), []); } catch { return []; } })
  .filter((f) => filters.length === 0 || filters.some((p) => f.startsWith(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, INVGRAPH_TEST: '1' },
});
process.exit(result.status ?? 1);
