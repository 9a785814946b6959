// Checks the dependency direction of architecture.md / style.md §2:
//  - only entry points (cli/, bin/) and tests import nodes/;
//  - engine folders import another engine folder only through its index.ts;
//  - engine/exec and engine/graph import no model, server, or node code;
//  - only engine/onnx/session.ts imports onnxruntime-node.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const problems = [];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name)) out.push(p);
  }
  return out;
}

const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const files = ['engine', 'nodes', 'cli', 'bench', 'models', 'ui/src'].flatMap((d) => {
  try { return walk(join(root, d), []); } catch { return []; }
});

for (const file of files) {
  const rel = relative(root, file);
  const isTest = /\.test\.ts$/.test(rel) || rel.includes('test-');
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec === 'onnxruntime-node' && rel !== 'engine/onnx/session.ts' && !rel.startsWith('engine/onnx/session')) {
      problems.push(`${rel}: only engine/onnx/session.ts may import onnxruntime-node`);
    }
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec));
    const [srcTop, srcSub] = rel.split('/');
    const [dstTop, dstSub] = target.split('/');
    if (dstTop === 'nodes' && srcTop !== 'nodes' && srcTop !== 'cli' && !isTest) {
      problems.push(`${rel}: imports ${target}; only entry points may import nodes/`);
    }
    if (srcTop === 'engine' && dstTop === 'engine' && srcSub !== dstSub && !isTest) {
      const viaIndex = target === `engine/${dstSub}/index.ts` || target === `engine/${dstSub}`;
      if (!viaIndex) problems.push(`${rel}: imports ${target}; other engine folders are reached through their index.ts`);
      if ((srcSub === 'exec' || srcSub === 'graph') && !['graph', 'tensor', 'files'].includes(dstSub)) {
        problems.push(`${rel}: engine/${srcSub} must not depend on engine/${dstSub}`);
      }
    }
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} import rule violation(s)`);
  process.exit(1);
}
console.log(`import rules: ${files.length} files checked, no violations`);
