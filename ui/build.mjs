// Builds the browser editor into ui/dist: one esbuild bundle plus the static page, styles and
// litegraph's stylesheet. Run with `npm run build:ui`; `npm ci` runs it too (the "prepare"
// script, with --if-possible), and `invgraph serve` builds it on its first start when missing.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds into `dist` (default ui/dist). Throws when esbuild or litegraph is not installed
 *  (an install without devDependencies). */
export async function buildEditor({ dist = join(here, 'dist'), minify = false } = {}) {
  const { build } = await import('esbuild');
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(dist, 'editor.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    minify,
    logLevel: 'warning',
  });
  const require = createRequire(import.meta.url);
  const litegraphDir = dirname(require.resolve('@comfyorg/litegraph'));
  copyFileSync(join(litegraphDir, 'css', 'litegraph.css'), join(dist, 'litegraph.css'));
  // index.html last: its presence is what marks a complete build.
  for (const file of ['editor.css', 'favicon.svg', 'index.html']) copyFileSync(join(here, file), join(dist, file));
  return dist;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const dist = await buildEditor({ minify: process.argv.includes('--minify') });
    console.log(`editor built into ${dist}`);
  } catch (error) {
    // --if-possible (npm's prepare): an install without devDependencies still succeeds.
    if (!process.argv.includes('--if-possible')) throw error;
    console.warn(`invgraph: the browser editor was not built (${error.message}); run \`npm run build:ui\` after installing the dev dependencies.`);
  }
}
