// The browser editor end to end, in Debian's Chromium against a real `invgraph serve` (real
// image nodes plus TestProgress): shipped workflow + upload + run, building a graph with the
// mouse, ComfyUI files → the server's API conversion, refused connections, validation errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { serve } from '../../cli/serve.ts';
import { expandWorkflow, parseJson, registryLookup, stringifyJson, workflowToPrompt, type UiWorkflow } from '../../engine/graph/index.ts';
import { CHROMIUM, EditorPage } from './editor-page.ts';
import { createRegistry } from './e2e-nodes.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const hasChromium = existsSync(CHROMIUM);

/** A small synthetic face (no photo files in the repo): skin disc, eyes, mouth. */
async function writeFace(path: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320"><rect width="320" height="320" fill="#9cc3e6"/>
    <ellipse cx="160" cy="165" rx="105" ry="130" fill="#e8b896"/><circle cx="120" cy="140" r="14" fill="#3a2a20"/>
    <circle cx="200" cy="140" r="14" fill="#3a2a20"/><path d="M115 215 Q160 250 205 215" stroke="#8a3a3a" stroke-width="9" fill="none"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

describe('browser editor', { skip: hasChromium ? false : `no ${CHROMIUM} (run .ci/system-deps)`, timeout: 180_000 }, () => {
  let dir: string;
  let server: { url: string; close(): Promise<void> };
  let editor: EditorPage;
  let face: string;

  before(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, 'ui/build.mjs')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    dir = mkdtempSync(join(tmpdir(), 'invgraph-browser-'));
    face = join(dir, 'face.png');
    await writeFace(face);
    server = await serve({
      port: 0,
      registryModule: new URL('./e2e-nodes.ts', import.meta.url).href,
      models: join(ROOT, 'models'),
      input: join(dir, 'input'),
      output: join(dir, 'output'),
      temp: join(dir, 'temp'),
      data: join(dir, 'data'),
      staticDir: join(ROOT, 'ui/dist'),
      log: () => {},
    });
    editor = await EditorPage.launch();
  });

  after(async () => {
    await editor?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh editor: no graph restored from an earlier test. */
  async function openEmpty(): Promise<void> {
    await editor.open(server.url);
    // Clear empties the graph; the reload then restores that empty graph (and drops old toasts).
    await editor.page.click('#clear-button');
    await editor.open(server.url);
    assert.deepEqual(await editor.nodes(), []);
  }

  test('loads the shipped Inv-Adapter workflow, uploads a face photo, runs it with progress, shows the image', async () => {
    await openEmpty();
    await editor.loadShippedWorkflow('inv-adapter');
    const nodes = await editor.nodes();
    const load = nodes.find((n) => n.type === 'LoadImage')!;
    const save = nodes.find((n) => n.type === 'SaveImage')!;
    const sampler = nodes.find((n) => n.type === 'KSampler')!;
    // A real photo: face-api's sample (the detector needs a real face).
    const photo = join(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'), '..', 'demo', 'sample1.jpg');
    await editor.uploadInto(load.id, photo);
    await editor.queueWithButton();
    const events = await editor.waitForRunEnd(120_000);
    assert.ok(!events.some((e) => e.type === 'execution_error'), JSON.stringify(events.filter((e) => e.type === 'execution_error')));
    const steps = events.filter((e) => e.type === 'progress' && e.node === sampler.id).map((e) => `${e.value}/${e.max}`);
    assert.deepEqual(steps, Array.from({ length: 10 }, (_, i) => `${i + 1}/10`), 'KSampler reported every step');
    const [file] = await editor.waitForOutputImages(save.id);
    assert.match(file, /^invgraph_inv_adapter_\d{5}_\.png$/);
    await editor.screenshot('inv-adapter-workflow');
  });

  test('loads a shipped workflow, uploads a face, runs it and shows the saved image', async () => {
    await openEmpty();
    await editor.loadShippedWorkflow('image-resize');
    const nodes = await editor.nodes();
    const load = nodes.find((n) => n.type === 'LoadImage')!;
    const save = nodes.find((n) => n.type === 'SaveImage')!;
    await editor.uploadInto(load.id, face);
    await editor.queueWithKeyboard();
    const events = await editor.waitForRunEnd();
    const executing = events.filter((e) => e.type === 'executing').map((e) => e.node);
    assert.deepEqual(executing, [...nodes.map((n) => n.id).sort(), null], 'each node was highlighted while it ran, then the run ended');
    const [file] = await editor.waitForOutputImages(save.id);
    assert.match(file, /^invgraph-resize_\d{5}_\.png$/);
    const meta = await sharp(join(dir, 'output', file)).metadata();
    assert.deepEqual([meta.width, meta.height], [256, 256]);
    await editor.page.waitForSelector('.history-item.success img');
    await editor.screenshot('shipped-workflow');

    // The saved PNG carries the workflow (tEXt "workflow"): dropping it opens that graph again.
    await editor.page.click('#clear-button');
    await editor.dropFile(join(dir, 'output', file), 'image/png');
    await editor.page.waitForFunction(() => (window as never as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === 3);
    assert.equal(await editor.hook('widgetValue', load.id, 'image'), 'face.png');
  });

  test('builds a graph with the mouse, drops an image on LoadImage, and shows progress and previews', async () => {
    await openEmpty();
    const load = await editor.addNode('LoadImage');
    const work = await editor.addNode('TestProgress');
    const preview = await editor.addNode('PreviewImage');
    await editor.dragNode(work, 0, 80);
    await editor.connect(load, 0, work, 'image');
    await editor.connect(work, 0, preview, 'images');
    assert.equal((await editor.links()).length, 2);
    const [x, y] = await editor.hook<[number, number]>('titlePosition', load);
    await editor.dropFile(face, 'image/png', [x, y + 120]);
    await editor.page.waitForFunction((id) => String((window as never as { invgraph: { widgetValue(i: string, n: string): unknown } }).invgraph.widgetValue(id, 'image')).startsWith('face'), load);
    assert.equal((await editor.nodes()).length, 3, 'the dropped image went into the LoadImage node');
    // The seed's "control after generate" is saved in the workflow but never sent to the server.
    assert.equal(await editor.hook('widgetValue', work, 'control_after_generate'), 'randomize');
    const prompt = await editor.hook<Record<string, { inputs: Record<string, unknown> }>>('prompt');
    assert.deepEqual(Object.keys(prompt[work].inputs).sort(), ['image', 'ms', 'seed', 'steps']);
    const seedBefore = await editor.hook('widgetValue', work, 'seed');
    await editor.queueWithButton();
    // "randomize" picks a new seed once the prompt was accepted.
    await editor.page.waitForFunction(
      ([id, before]) => (window as never as { invgraph: { widgetValue(i: string, n: string): unknown } }).invgraph.widgetValue(id, 'seed') !== before,
      [work, seedBefore] as const,
    );
    const events = await editor.waitForRunEnd();
    const progress = events.filter((e) => e.type === 'progress' && e.node === work).map((e) => `${e.value}/${e.max}`);
    assert.deepEqual(progress, ['1/4', '2/4', '3/4', '4/4']);
    assert.ok(events.some((e) => e.type === 'preview' && e.node === work), 'live previews arrived for the running node');
    const [file] = await editor.waitForOutputImages(preview);
    assert.match(file, /^ComfyUI_temp_[a-z]{5}_\d{5}_\.png$/);
    await editor.screenshot('built-graph');
  });

  test('Interrupt stops a running prompt', async () => {
    await openEmpty();
    const load = await editor.addNode('LoadImage');
    const work = await editor.addNode('TestProgress');
    const preview = await editor.addNode('PreviewImage');
    await editor.connect(load, 0, work, 'image');
    await editor.connect(work, 0, preview, 'images');
    await editor.uploadInto(load, face);
    const [x, y] = await editor.hook<[number, number]>('widgetPosition', work, 'ms');
    await editor.page.mouse.dblclick(x, y);
    await editor.page.fill('.graphdialog input', '2000');
    await editor.page.keyboard.press('Enter');
    await editor.page.waitForFunction((id) => (window as never as { invgraph: { widgetValue(i: string, n: string): unknown } }).invgraph.widgetValue(id, 'ms') === 2000, work);
    await editor.queueWithButton();
    await editor.page.waitForFunction((id) => (window as never as { invgraph: { run(): { running: string | null } } }).invgraph.run().running === id, work);
    await editor.page.click('#interrupt-button');
    const events = await editor.waitForRunEnd(10_000);
    assert.ok(events.some((e) => e.type === 'execution_interrupted'), events.map((e) => e.type).join(' '));
    assert.ok(!events.some((e) => e.type === 'executed'), 'the preview node never ran');
  });

  test('a ComfyUI-saved workflow exports the API prompt the server computes', async () => {
    await openEmpty();
    await editor.dropFile(join(FIXTURES, 'comfyui-image-resize.json'), 'application/json');
    await editor.page.waitForFunction(() => (window as never as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === 6);
    const exported = await editor.exportApi();
    const workflow = JSON.parse(readFileSync(join(FIXTURES, 'comfyui-image-resize.json'), 'utf8'));
    const expected = workflowToPrompt(workflow, createRegistry());
    assert.deepEqual(exported, JSON.parse(JSON.stringify(expected)));
    assert.deepEqual(Object.keys(exported as object).sort(), ['10', '11', '13'], 'reroute, note and the muted preview are left out');
    // Saved again by this editor, the file still converts to the same prompt on the server.
    const saved = await editor.saveWorkflow();
    assert.equal(saved.version, 0.4);
    assert.equal(saved.nodes.length, 6);
    assert.deepEqual(JSON.parse(JSON.stringify(workflowToPrompt(saved, createRegistry()))), exported);
  });

  test("ComfyUI's own graphs (default, 2023 legacy, primitives, reroutes, bypass, subgraphs, group nodes) export as the server converts them", async () => {
    const folder = join(ROOT, 'test/fixtures/workflows');
    for (const name of ['txt2img-default', 'legacy-2023', 'primitive', 'reroutes', 'bypass-mute', 'converted-widget', 'subgraph-nested', 'group-node', 'frontend-default']) {
      await editor.page.click('#clear-button');
      const text = readFileSync(join(folder, `${name}.json`), 'utf8');
      // Subgraphs and group nodes open unpacked into their inner nodes.
      const count = expandWorkflow(JSON.parse(text) as UiWorkflow, registryLookup(createRegistry())).nodes.length;
      await editor.dropFile(join(folder, `${name}.json`), 'application/json');
      await editor.page.waitForFunction((n) => (window as never as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === n, count);
      // The browser has no bigint: seeds above 2^53 travel as the nearest double, as in ComfyUI's editor.
      const expected = JSON.parse(stringifyJson(workflowToPrompt(parseJson(text), createRegistry())));
      assert.deepEqual(await editor.exportApi(), expected, name);
    }
  });

  test('a connection between mismatched types is refused, a matching one is made', async () => {
    await openEmpty();
    const load = await editor.addNode('LoadImage');
    const scale = await editor.addNode('ImageScale');
    await editor.connect(load, 1, scale, 'image');
    assert.deepEqual(await editor.links(), [], 'MASK → IMAGE was refused');
    await editor.connect(load, 0, scale, 'image');
    const links = await editor.links();
    assert.deepEqual(links.map((l) => [l.from, l.fromSlot, l.to, l.type]), [[load, 0, scale, 'IMAGE']]);
  });

  test('Refresh brings new input files into LoadImage\'s list', async () => {
    await openEmpty();
    const load = await editor.addNode('LoadImage');
    copyFileSync(face, join(dir, 'input', 'added-later.png'));
    assert.ok(!(await editor.hook<string[]>('widgetOptions', load, 'image')).includes('added-later.png'));
    await editor.page.click('#refresh-button');
    await editor.page.waitForFunction(
      (id) => ((window as never as { invgraph: { widgetOptions(i: string, n: string): string[] } }).invgraph.widgetOptions(id, 'image')).includes('added-later.png'),
      load,
    );
  });

  test('validation errors from the server show on the offending node and input', async () => {
    await openEmpty();
    await editor.dropFile(join(ROOT, 'workflows/image-resize.json'), 'application/json');
    await editor.page.waitForFunction(() => (window as never as { invgraph: { nodes(): unknown[] } }).invgraph.nodes().length === 3);
    // The shipped file names example.png; a fresh install has it (copied on first run), so remove it.
    rmSync(join(dir, 'input', 'example.png'), { force: true });
    await editor.queueWithButton();
    const errors = await editor.waitForNodeErrors('1');
    assert.equal(errors[0].input, 'image');
    assert.match(errors[0].details, /example\.png/);
    const run = await editor.run();
    assert.deepEqual(Object.keys(run.nodes).filter((id) => run.nodes[id].errors.length > 0), ['1']);
    assert.match((await editor.toasts()).join('\n'), /LoadImage/);
    await editor.screenshot('validation-error');
  });

  test('with an access token: ?token= opens the editor, API calls, uploads, websocket and images carry it', async () => {
    const secured = await serve({
      port: 0,
      registryModule: new URL('./e2e-nodes.ts', import.meta.url).href,
      models: join(ROOT, 'models'),
      input: join(dir, 'input'),
      output: join(dir, 'output'),
      temp: join(dir, 'temp'),
      data: join(dir, 'data-secured'),
      staticDir: join(ROOT, 'ui/dist'),
      authToken: 'e2e-secret',
      log: () => {},
    });
    try {
      assert.equal((await fetch(`${secured.url}/`)).status, 401);
      await editor.open(`${secured.url}/?token=e2e-secret`);
      // Without the session cookie, only the editor's own Bearer header / ?token= can authenticate.
      await editor.context.clearCookies();
      await editor.page.evaluate(() => localStorage.removeItem('invgraph.workflow'));
      await editor.loadShippedWorkflow('image-resize');
      await editor.uploadInto('1', face);
      await editor.queueWithButton();
      await editor.waitForRunEnd();
      const [file] = await editor.waitForOutputImages('3');
      assert.match(file, /^invgraph-resize_\d{5}_\.png$/);
    } finally {
      await secured.close();
    }
  });

  test('files that are no workflow are refused with a message, the graph kept', async () => {
    await openEmpty();
    await editor.addNode('ImageScale');
    const notWorkflow = join(dir, 'settings.json');
    writeFileSync(notWorkflow, '{"theme": "dark"}');
    await editor.dropFile(notWorkflow, 'application/json');
    await editor.page.waitForSelector('.toast.error');
    assert.match((await editor.toasts()).join('\n'), /settings\.json is neither a workflow/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"nodes": [');
    await editor.dropFile(broken, 'application/json');
    await editor.page.waitForFunction(() => document.querySelectorAll('.toast.error').length === 2);
    assert.match((await editor.toasts()).join('\n'), /broken\.json is not valid JSON/);
    assert.deepEqual((await editor.nodes()).map((n) => n.type), ['ImageScale']);
  });

  test('the last graph comes back after a reload', async () => {
    await openEmpty();
    await editor.addNode('ImageScale');
    await editor.page.reload();
    await editor.page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual((await editor.nodes()).map((n) => n.type), ['ImageScale']);
    assert.deepEqual(editor.errors, [], 'no uncaught errors in the page');
  });
});
