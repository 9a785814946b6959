// Issue #12 item 7: after `npm ci`, `invgraph serve` must show a working editor, not a page that
// says it is not built without saying how to build it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEditorBuilt } from '../../cli/editor-build.ts';
import { startTestServer } from './harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

test('npm ci builds the editor (the prepare script), without failing an install that lacks dev dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.prepare, 'node ui/build.mjs --if-possible');
});

test('serve builds a missing editor on its first start, once', async () => {
  const dist = join(mkdtempSync(join(tmpdir(), 'invgraph-ui-')), 'dist');
  try {
    const logs: string[] = [];
    assert.equal(await ensureEditorBuilt(dist, (m) => logs.push(m)), 'built');
    for (const file of ['index.html', 'editor.js', 'editor.css', 'litegraph.css']) assert.ok(existsSync(join(dist, file)), `${file} missing`);
    assert.match(logs.join('\n'), /building the browser editor/);
    assert.equal(await ensureEditorBuilt(dist, () => {}), 'present');
    // The server then serves it at /.
    const server = await startTestServer({ staticDir: dist });
    try {
      const page = await (await fetch(`${server.url}/`)).text();
      assert.match(page, /editor\.js/);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(join(dist, '..'), { recursive: true, force: true });
  }
});

test('without an editor the page at / says how to build it', async () => {
  const server = await startTestServer();
  try {
    const page = await (await fetch(`${server.url}/`)).text();
    assert.match(page, /npm run build:ui/);
  } finally {
    await server.close();
  }
});
