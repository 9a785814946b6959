// Makes docs/editor.png, the README's picture of the editor running a workflow:
//   node --import tsx test/browser/readme-screenshot.ts [workflow-name]   (default inv-adapter)
// Real nodes and the models/ folder; the shot is taken while the sampler runs with a live
// preview, or after the run when the workflow has no progress to show.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { serve } from '../../cli/serve.ts';
import { EditorPage, type RunSnapshot as Snapshot } from './editor-page.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const name = process.argv[2] ?? 'inv-adapter';
const dir = mkdtempSync(join(tmpdir(), 'invgraph-shot-'));
// The images the shipped workflows name (workflows/inputs) go into the input folder.
cpSync(join(ROOT, 'workflows/inputs'), join(dir, 'input'), { recursive: true });
// The Inv-Adapter workflow's face photo: face-api's sample (not shipped in the repo).
cpSync(join(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'), '..', 'demo', 'sample1.jpg'), join(dir, 'input', 'face.jpg'));
const server = await serve({
  port: 0, models: join(ROOT, 'models'), input: join(dir, 'input'), output: join(dir, 'output'), temp: join(dir, 'temp'),
  data: join(dir, 'data'), staticDir: join(ROOT, 'ui/dist'), log: () => {},
});
const editor = await EditorPage.launch({ width: 1920, height: 1080 });
try {
  await editor.open(server.url);
  await editor.loadShippedWorkflow(name);
  await editor.queueWithButton();
  // Mid-run (a node with a live preview, half done) or the end of the run, whichever comes first.
  await editor.page.waitForFunction(() => {
    const hooks = (window as never as { invgraph: { run(): Snapshot; events(): { type: string; node?: string | null }[] } }).invgraph;
    const run = hooks.run();
    const node = run.running === null ? undefined : run.nodes[run.running];
    const midRun = node?.hasPreview === true && (node.progress?.value ?? 0) * 2 >= (node.progress?.max ?? 1);
    return midRun || hooks.events().some((e) => e.type === 'executing' && e.node === null);
  }, undefined, { timeout: 300_000 });
  const failed = (await editor.events()).find((e) => e.type === 'execution_error');
  if (failed) throw new Error(`the run failed, docs/editor.png left as it was: ${JSON.stringify(await editor.toasts())}`);
  await editor.page.screenshot({ path: join(ROOT, 'docs/editor.png') });
  console.log(`docs/editor.png written (${(await editor.run()).running === null ? 'after the run' : 'mid-run'})`);
} finally {
  await editor.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
