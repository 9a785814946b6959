// Builds the browser editor into ui/dist: one esbuild bundle plus the static page, styles and
// litegraph's stylesheet. Run with `npm run build:ui`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(dist, 'editor.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
});
const require = createRequire(import.meta.url);
const litegraphDir = dirname(require.resolve('@comfyorg/litegraph'));
copyFileSync(join(litegraphDir, 'css', 'litegraph.css'), join(dist, 'litegraph.css'));
for (const file of ['index.html', 'editor.css', 'favicon.svg']) copyFileSync(join(here, file), join(dist, file));
console.log(`editor built into ${dist}`);
