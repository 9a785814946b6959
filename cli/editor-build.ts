// The browser editor on a first run (issue #12 item 7): `npm ci` builds ui/dist through the
// "prepare" script, and when it is still missing (a clone run without it, an install script that
// was skipped) `serve` builds it before it starts listening; it takes a second or two.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BUILD_SCRIPT = new URL('../ui/build.mjs', import.meta.url).href;

export type EditorState = 'present' | 'built' | 'unavailable';

/** Makes sure `dist` holds a built editor; never throws (the API works without the editor). */
export async function ensureEditorBuilt(dist: string, log: (message: string) => void): Promise<EditorState> {
  if (existsSync(join(dist, 'index.html'))) return 'present';
  try {
    const { buildEditor } = (await import(BUILD_SCRIPT)) as { buildEditor(options: { dist: string }): Promise<string> };
    log(`building the browser editor into ${dist} (first start)...`);
    await buildEditor({ dist });
    return 'built';
  } catch (error) {
    log(`the browser editor could not be built (${(error as Error).message}); run \`npm run build:ui\`. The API works without it.`);
    return 'unavailable';
  }
}
