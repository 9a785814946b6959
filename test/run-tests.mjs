// Runs the project's *.test.ts files with Node's own test runner (TypeScript through tsx).
// Usage: node test/run-tests.mjs [--all] [path-filter ...]   e.g. `node test/run-tests.mjs engine/graph`
// Without --all and without filters the slow suites (SLOW_SUITES) are left out: that is `npm test`, the quick
// loop while working. `npm run test:all` (what CI runs) passes --all; a filter always selects from every file.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['engine', 'nodes', 'test', 'models', 'bench'];
const skip = new Set(['node_modules', 'fixtures', 'output', 'dist']);

/**
 * Path prefixes of the suites that take minutes each on a 2-core machine: end-to-end runs of whole workflows
 * (CLI, browser), multi-process worker fleets, the benchmark smoke test, the full parity sweep and the face
 * models (tfjs-wasm). The units beneath them (executor, nodes, graphs) run in the quick suite.
 */
export const SLOW_SUITES = [
  'test/cli/',
  'test/browser/',
  'test/server/workers',
  'test/parity/',
  'bench/',
  'nodes/face.test.ts',
  'engine/face/descriptor.test.ts',
];

function collect(dir, found) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, found);
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const args = process.argv.slice(2);
const all = args.includes('--all');
const filters = args.filter((a) => a !== '--all');
const files = roots
  .flatMap((r) => { try { return collect(join(root, r), []); } catch { return []; } })
  .filter((f) => (filters.length > 0 ? filters.some((p) => f.startsWith(p)) : all || !SLOW_SUITES.some((p) => f.startsWith(p))))
  .sort();
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
if (!all && filters.length === 0) {
  console.error(`quick suite: ${files.length} files; the slow suites (${SLOW_SUITES.join(', ')}) run with \`npm run test:all\``);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, INVGRAPH_TEST: '1' },
});
process.exit(result.status ?? 1);
