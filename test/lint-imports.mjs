// Checks the dependency direction of architecture.md / style.md §2:
//  - only entry points (cli/, bin/) and tests import nodes/;
//  - engine folders import another engine folder only through its index.ts;
//  - engine/exec and engine/graph import no model, server, or node code;
//  - only engine/onnx/session.ts imports onnxruntime-node;
//  - engine files the browser editor bundles (reached from ui/src by value imports) import no package
//    and no Node built-in: the editor shares only pure engine modules (e.g. the UI → API conversion);
//  - no import cycles between files (type-only imports count too: a contract lives in the lowest file
//    that needs it, so the arrows between files always point down).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Every import cycle among `edges` (file → imported files), each as a closed path; found with Tarjan's
 *  strongly connected components, then one shortest loop per component so the message is readable. */
export function findCycles(edges) {
  let counter = 0;
  const index = new Map(), low = new Map(), onStack = new Set(), stack = [], components = [];
  const visit = (v) => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
      const selfLoop = (edges.get(v) ?? new Set()).has(v);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => shortestLoop(edges, new Set(component), [...component].sort()[0]));
}

function shortestLoop(edges, members, start) {
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of [...(edges.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = previous.get(v); p !== null; p = previous.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!previous.has(w)) { previous.set(w, v); queue.push(w); }
    }
  }
  return [start, start];
}

/** Engine files reached from ui/src through value imports, each with the ui/src file that
 *  pulls it in. */
function bundledEngineFiles(valueEdges) {
  const reached = new Map();
  const queue = [];
  for (const [file, targets] of valueEdges) {
    if (!file.startsWith('ui/')) continue;
    for (const target of targets) if (target.startsWith('engine/') && !reached.has(target)) { reached.set(target, file); queue.push(target); }
  }
  while (queue.length) {
    const file = queue.shift();
    for (const target of valueEdges.get(file) ?? []) {
      if (!reached.has(target)) { reached.set(target, reached.get(file)); queue.push(target); }
    }
  }
  return reached;
}

/** All rule violations under `root` (a repository folder), as readable lines. */
export function checkImports(root) {
  const problems = [];
  const files = ['engine', 'nodes', 'cli', 'bench', 'models', 'ui/src'].flatMap((d) => {
    try { return walk(join(root, d), []); } catch { return []; }
  });
  const edges = new Map();
  const valueEdges = new Map();
  const packages = new Map();
  for (const file of files) {
    const rel = relative(root, file);
    const isTest = /\.test\.ts$/.test(rel) || rel.includes('test-');
    const src = readFileSync(file, 'utf8');
    const targets = new Set();
    const valueTargets = new Set();
    const bare = new Set();
    edges.set(rel, targets);
    valueEdges.set(rel, valueTargets);
    packages.set(rel, bare);
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      const typeOnly = /^(?:import|export)\s+type\s/.test(m[0]);
      if (!spec.startsWith('.') && !typeOnly) bare.add(spec);
      if (spec === 'onnxruntime-node' && rel !== 'engine/onnx/session.ts' && !rel.startsWith('engine/onnx/session')) {
        problems.push(`${rel}: only engine/onnx/session.ts may import onnxruntime-node`);
      }
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec));
      const resolved = existsSync(join(root, target)) && statSync(join(root, target)).isDirectory() ? `${target}/index.ts` : target;
      targets.add(resolved);
      if (!typeOnly) valueTargets.add(resolved);
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
  for (const [file, via] of bundledEngineFiles(valueEdges)) {
    for (const spec of packages.get(file) ?? []) {
      problems.push(`${file}: imports ${spec}, but the browser editor bundles this file (via ${via}); the editor may only use pure engine modules`);
    }
  }
  for (const cycle of findCycles(edges)) problems.push(`import cycle: ${cycle.join(' → ')}`);
  return { problems, fileCount: files.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const { problems, fileCount } = checkImports(root);
  if (problems.length) {
    console.error(problems.join('\n'));
    console.error(`\n${problems.length} import rule violation(s)`);
    process.exit(1);
  }
  console.log(`import rules: ${fileCount} files checked, no violations`);
}
