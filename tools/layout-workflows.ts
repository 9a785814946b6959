// Lays out UI workflow files with the editor's own Arrange (columns by link depth, node sizes as
// the editor draws them), driving the built editor in Debian's Chromium, and writes back only
// each node's `pos` and `size` (and group rectangles): every other byte of meaning is kept, so
// the API twins (*.api.json) stay valid. An API prompt without a UI twin gets one: the editor's
// own import of it, laid out. Fails when a layout still has overlaps or hidden links.
//
//   node --import tsx tools/layout-workflows.ts                 # every workflows/*.json, and UI twins for API-only ones
//   node --import tsx tools/layout-workflows.ts my-flow.json    # any UI workflow file
//   node --import tsx tools/layout-workflows.ts x.api.json      # writes x.json beside it
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '../cli/serve.ts';
import { parseJson, stringifyJson } from '../engine/graph/index.ts';
import { EditorPage } from '../test/browser/editor-page.ts';

const ROOT = new URL('../', import.meta.url).pathname;

interface UiNodeLike {
  id: number | string;
  pos: unknown;
  size: unknown;
}
interface UiWorkflowLike {
  nodes: UiNodeLike[];
  groups?: { bounding: number[] }[];
}

const API_SUFFIX = '.api.json';

/** The UI workflows in workflows/, and the API prompts there that have no UI twin yet. */
function shippedWorkflows(): string[] {
  const dir = join(ROOT, 'workflows');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const ui = files.filter((f) => !f.endsWith(API_SUFFIX));
  const apiOnly = files.filter((f) => f.endsWith(API_SUFFIX) && !ui.includes(f.replace(API_SUFFIX, '.json')));
  return [...ui, ...apiOnly].map((f) => join(dir, f));
}

/** The file's own indentation (two spaces, one, a tab), so a rewrite only changes positions. */
function indentOf(text: string): string {
  return /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
}

async function main(): Promise<number> {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : shippedWorkflows();
  const built = spawnSync(process.execPath, [join(ROOT, 'ui/build.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the editor did not build: ${built.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-layout-'));
  const server = await serve({
    port: 0, models: join(ROOT, 'models'), input: join(dir, 'input'), output: join(dir, 'output'), temp: join(dir, 'temp'),
    data: join(dir, 'data'), staticDir: join(ROOT, 'ui/dist'), log: () => {},
  });
  const editor = await EditorPage.launch();
  let failed = 0;
  try {
    await editor.open(server.url);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const fromApi = file.endsWith(API_SUFFIX);
      const target = fromApi ? file.slice(0, -API_SUFFIX.length) + '.json' : file;
      const json = parseJson(text) as UiWorkflowLike;
      const count = fromApi ? Object.keys(json).length : json.nodes?.length;
      if (!fromApi && !Array.isArray(json.nodes)) throw new Error(`${file} is not a UI workflow (no "nodes" list)`);
      await editor.page.click('#clear-button');
      await editor.page.waitForFunction(() => (window as unknown as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === 0);
      await editor.dropFile(file, 'application/json');
      await editor.page.waitForFunction((n) => (window as unknown as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === n, count);
      await editor.page.click('#arrange-button');
      const problems = await editor.hook<string[]>('layoutProblems');
      const arranged = await editor.hook<UiWorkflowLike>('workflow');
      if (fromApi) {
        writeFileSync(target, `${stringifyJson(arranged, '  ')}\n`);
      } else {
        const byId = new Map(arranged.nodes.map((n) => [String(n.id), n]));
        for (const node of json.nodes) {
          const laid = byId.get(String(node.id));
          if (!laid) continue;
          node.pos = laid.pos;
          node.size = laid.size;
        }
        if (json.groups && arranged.groups?.length === json.groups.length) json.groups.forEach((g, i) => (g.bounding = arranged.groups![i].bounding));
        writeFileSync(target, `${stringifyJson(json, indentOf(text))}\n`);
      }
      const scale = await editor.hook<number>('scale');
      console.log(`${target}: ${problems.length === 0 ? 'laid out' : `still has ${problems.join('; ')}`} (opens at ${Math.round(scale * 100)}% zoom)`);
      if (problems.length > 0) failed++;
    }
  } finally {
    await editor.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
