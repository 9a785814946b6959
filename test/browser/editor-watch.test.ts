// Issue 21 in Chromium: multiline prompt boxes, the running sampler's live preview and progress
// bar in a mid-run screenshot (the tiny demo model), the history run viewer, Ctrl+G groups,
// the favicon and img2img's example input on a fresh install.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { serve } from '../../cli/serve.ts';
import { CHROMIUM, EditorPage } from './editor-page.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
type Hooks = { invgraph: Record<string, (...args: unknown[]) => any> };

describe('browser editor: what users edit and watch', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (run .ci/system-deps)`, timeout: 600_000 }, () => {
  let dir: string;
  let server: { url: string; close(): Promise<void> };
  let editor: EditorPage;
  const missing: string[] = [];

  before(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, 'ui/build.mjs')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    dir = mkdtempSync(join(tmpdir(), 'invgraph-watch-'));
    server = await serve({
      port: 0, models: join(ROOT, 'models'), input: join(dir, 'input'), output: join(dir, 'output'), temp: join(dir, 'temp'),
      data: join(dir, 'data'), staticDir: join(ROOT, 'ui/dist'), log: () => {},
    });
    editor = await EditorPage.launch();
    editor.page.on('response', (r) => {
      if (r.status() === 404) missing.push(r.url());
    });
  });

  after(async () => {
    await editor?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a fresh install serves the favicon and has img2img\'s example input; the first visit opens txt2img', async () => {
    await editor.open(server.url);
    // A new browser profile has no saved graph: the editor opens on the shipped txt2img workflow.
    const first = (await editor.nodes()).map((n) => n.type).sort();
    assert.deepEqual(first, ['CLIPTextEncode', 'CLIPTextEncode', 'CheckpointLoaderSimple', 'EmptyLatentImage', 'KSampler', 'SaveImage', 'VAEDecode']);
    const icon = await fetch(`${server.url}/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /svg/);
    assert.ok(existsSync(join(dir, 'input', 'example.png')), 'example.png copied into the new input folder');
    await editor.loadShippedWorkflow('img2img');
    await editor.page.waitForFunction(() => (window as unknown as Hooks).invgraph.nodes().length > 0);
    const load = (await editor.nodes()).find((n) => n.type === 'LoadImage')!;
    assert.ok((await editor.hook<string[]>('widgetOptions', load.id, 'image')).includes('example.png'));
    assert.deepEqual(missing, [], 'no 404 while loading the editor');
  });

  test('prompts are multiline text areas that show the whole text and grow with the node', async () => {
    await editor.page.click('#clear-button');
    await editor.loadShippedWorkflow('txt2img');
    const clip = (await editor.nodes()).find((n) => n.type === 'CLIPTextEncode')!;
    const box = await editor.hook<{ value: string; rect: number[]; scrollHeight: number; clientHeight: number }>('textArea', clip.id, 'text');
    assert.ok(box, 'the prompt is a textarea on screen');
    const prompt = await editor.hook<Record<string, { inputs: { text?: string } }>>('prompt');
    assert.equal(box.value, prompt[clip.id].inputs.text, 'the whole prompt is in the box');
    assert.ok(box.scrollHeight <= box.clientHeight + 1, 'the text fits without scrolling');
    // Typing edits the prompt that is sent.
    await editor.page.click(`.node-textarea[data-widget="text"] >> nth=0`);
    await editor.page.keyboard.press('End');
    await editor.page.keyboard.type(', at dusk');
    const typed = await editor.hook<Record<string, { inputs: { text?: string } }>>('prompt');
    assert.ok(Object.values(typed).some((n) => n.inputs.text?.endsWith(', at dusk')));
    // Resizing the node (its bottom-right corner) grows the box.
    const scale = await editor.hook<number>('scale');
    const [cx, cy] = await editor.page.evaluate(([id]) => {
      const h = (window as unknown as Hooks).invgraph;
      const [x, y, w, hgt] = h.nodeBounds(id);
      return h.toClientPoint(x + w - 3, y + hgt - 3);
    }, [clip.id]);
    await editor.page.mouse.move(cx, cy);
    await editor.page.mouse.down();
    await editor.page.mouse.move(cx + 10, cy + 120 * scale, { steps: 6 });
    await editor.page.mouse.up();
    await editor.page.waitForFunction(([id, h]) => ((window as unknown as Hooks).invgraph.textArea(id, 'text')?.rect[3] ?? 0) > (h as number) + 60 * 0.8,
      [clip.id, box.rect[3]] as const, { timeout: 20_000 });
    await editor.screenshot('multiline-prompt');
  });

  test('mid-run: the sampler shows its latest live preview and a progress bar with the step count', async () => {
    await editor.page.click('#clear-button');
    await editor.loadShippedWorkflow('txt2img');
    const sampler = (await editor.nodes()).find((n) => n.type === 'KSampler')!;
    // Enough steps to catch the run in the middle on a loaded machine.
    const [x, y] = await editor.hook<[number, number]>('widgetPosition', sampler.id, 'steps');
    await editor.page.mouse.dblclick(x, y);
    await editor.page.fill('.graphdialog input', '40');
    await editor.page.keyboard.press('Enter');
    await editor.page.waitForFunction((id) => (window as unknown as Hooks).invgraph.widgetValue(id, 'steps') === 40, sampler.id);
    await editor.queueWithButton();
    await editor.page.waitForFunction((id) => {
      const run = (window as unknown as Hooks).invgraph.run();
      const node = run.nodes[id];
      return run.running === id && node?.hasPreview && (node.progress?.value ?? 0) >= 2 && node.progress.value < node.progress.max - 4;
    }, sampler.id, { timeout: 300_000 });
    // Freeze what is on screen: the rectangles drawn and the screenshot of the same frame.
    const { image, progress } = await editor.hook<{ image: number[] | null; progress: number[] | null }>('drawnRects', sampler.id);
    const shot = await editor.page.screenshot();
    const { image: image2 } = await editor.hook<{ image: number[] | null }>('drawnRects', sampler.id);
    await editor.screenshot('mid-run-preview');
    assert.ok(image && progress, 'the preview and the progress bar were drawn on the running node');
    assert.ok(image[2] >= 80 && image[3] >= 80, `the preview is large enough to see: ${image}`);
    assert.ok(progress[3] >= 16, 'the progress bar is a bar, not a line');
    const crop = async (r: number[]) => sharp(shot).extract({ left: Math.round(r[0]) + 2, top: Math.round(r[1]) + 2, width: Math.round(r[2]) - 4, height: Math.round(r[3]) - 4 });
    // The screenshot shows an image where the preview was drawn (the node's body is a flat grey).
    const stats = await (await crop(image)).stats();
    assert.deepEqual(image, image2, 'the same frame was on screen');
    assert.ok(stats.channels.some((ch) => ch.stdev > 10), 'the preview area holds an image, not a flat fill');
    // The bar's filled part is the running green.
    const left = await sharp(shot).extract({ left: Math.round(progress[0]) + 2, top: Math.round(progress[1] + progress[3] / 2) + 6, width: 3, height: 2 }).raw().toBuffer();
    assert.ok(left[1] > 150 && left[0] < 120, `the bar's start is green: ${[...left.subarray(0, 3)]}`);
    const events = await editor.waitForRunEnd(300_000);
    assert.ok(!events.some((e) => e.type === 'execution_error'));
    const timings = await editor.hook<Record<string, number | string>>('timings');
    assert.ok(typeof timings[sampler.id] === 'number' && (timings[sampler.id] as number) > 0, 'the sampler shows its run time');
  });

  test('a history entry opens its images full size with the prompt and a Load workflow action', async () => {
    await editor.page.waitForSelector('.history-item.success img', { timeout: 60_000 });
    await editor.page.click('#clear-button');
    await editor.page.click('.history-item.success');
    await editor.page.waitForSelector('#run-viewer .run-images img');
    await editor.page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#run-viewer .run-images img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const size = await editor.page.$eval('#run-viewer .run-images img', (img) => [(img as HTMLImageElement).getBoundingClientRect().width, (img as HTMLImageElement).naturalWidth]);
    assert.ok(size[0] >= size[1], `shown at least full size: ${size}`);
    assert.match(await editor.page.textContent('#run-viewer .run-prompt') ?? '', /at dusk|landscape/);
    assert.deepEqual(await editor.nodes(), [], 'opening the viewer does not replace the graph');
    await editor.screenshot('history-run-viewer');
    await editor.page.click('#run-viewer button.primary');
    await editor.page.waitForFunction(() => (window as unknown as Hooks).invgraph.nodes().length === 7);
    assert.equal(await editor.page.$('#run-viewer'), null, 'the viewer closed');
  });

  for (const name of readdirSync(join(ROOT, 'workflows')).filter((f) => f.endsWith('.json') && !f.endsWith('.api.json')).map((f) => f.slice(0, -'.json'.length))) {
    test(`shipped workflow ${name}: no overlapping nodes, no link behind a node, opened at a readable zoom`, async () => {
      await editor.page.click('#clear-button');
      await editor.loadShippedWorkflow(name);
      assert.deepEqual(await editor.hook<string[]>('layoutProblems'), []);
      assert.ok((await editor.hook<number>('scale')) >= 0.8, 'fitted at 80% zoom or more (node text about 11 px)');
      await editor.screenshot(`layout-${name}`);
    });
  }

  test('Arrange lays a piled-up workflow out in columns without overlaps or hidden links; the prompt is unchanged', async () => {
    // Every node of the Inv-Adapter workflow piled up at one spot, as a careless file would have them.
    const workflow = JSON.parse(readFileSync(join(ROOT, 'workflows/inv-adapter.json'), 'utf8')) as { nodes: { pos: number[] }[] };
    for (const node of workflow.nodes) node.pos = [100, 100];
    const file = join(dir, 'piled.json');
    writeFileSync(file, JSON.stringify(workflow));
    await editor.page.click('#clear-button');
    await editor.dropFile(file, 'application/json');
    await editor.page.waitForFunction((n) => (window as unknown as Hooks).invgraph.nodes().length === n, workflow.nodes.length);
    const prompt = await editor.hook<unknown>('prompt');
    assert.ok((await editor.hook<string[]>('layoutProblems')).length > 10, 'the piled-up nodes overlap');
    await editor.page.click('#arrange-button');
    assert.deepEqual(await editor.hook<string[]>('layoutProblems'), []);
    assert.deepEqual(await editor.hook<unknown>('prompt'), prompt, 'arranging moves nodes, nothing else');
    // Links run left to right: every link's source column is left of its target.
    const bounds = async (id: string) => editor.hook<number[]>('nodeBounds', id);
    for (const link of await editor.links()) {
      const [from, to] = [await bounds(link.from), await bounds(link.to)];
      assert.ok(from[0] + from[2] < to[0], `link ${link.from}→${link.to} runs left to right`);
    }
    await editor.screenshot('arranged-inv-adapter');
  });

  test('Ctrl+G puts a group around the selected nodes; it moves with them', async () => {
    await editor.page.click('#clear-button');
    await editor.loadShippedWorkflow('txt2img');
    const nodes = await editor.nodes();
    const [a, b] = nodes.filter((n) => n.type === 'CLIPTextEncode');
    const [ax, ay] = await editor.hook<[number, number]>('titlePosition', a.id);
    const [bx, by] = await editor.hook<[number, number]>('titlePosition', b.id);
    await editor.page.mouse.click(ax, ay);
    await editor.page.keyboard.down('Control');
    await editor.page.mouse.click(bx, by);
    await editor.page.keyboard.press('g');
    await editor.page.keyboard.up('Control');
    await editor.page.waitForFunction(() => (window as unknown as Hooks).invgraph.groups().length === 1);
    const [group] = await editor.hook<{ bounding: number[]; nodes: string[] }[]>('groups');
    for (const id of [a.id, b.id]) {
      const [x, y, w, h] = await editor.hook<number[]>('nodeBounds', id);
      const [gx, gy, gw, gh] = group.bounding;
      assert.ok(x >= gx && y >= gy && x + w <= gx + gw && y + h <= gy + gh, `node ${id} inside the group`);
    }
    // Drag the group by its title: both nodes move with it.
    const before = await editor.hook<number[]>('nodeBounds', a.id);
    const [tx, ty] = await editor.page.evaluate(([gx, gy]) => (window as unknown as Hooks).invgraph.toClientPoint(gx + 40, gy + 12), group.bounding);
    await editor.page.mouse.click(tx + 200, ty - 60); // deselect
    await editor.page.mouse.move(tx, ty);
    await editor.page.mouse.down();
    await editor.page.mouse.move(tx, ty + 80, { steps: 8 });
    await editor.page.mouse.up();
    const moved = await editor.hook<number[]>('nodeBounds', a.id);
    assert.ok(moved[1] > before[1] + 40, `the node moved with its group: ${before} → ${moved}`);
    await editor.screenshot('group-selection');
  });
});
