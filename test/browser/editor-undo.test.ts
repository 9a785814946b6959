// Issue 20 in Chromium: Ctrl+Z / Ctrl+Y / Ctrl+Shift+Z undo and redo every kind of graph edit
// (widget value, typing a prompt, move, add, connect, disconnect, delete, paste, group, loading a
// workflow), checked on the exported prompt and the graph, with real mouse and keyboard input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../cli/serve.ts';
import { CHROMIUM, EditorPage } from './editor-page.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
type Hooks = { invgraph: Record<string, (...args: unknown[]) => any> };
type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
type Point = [number, number];

describe('browser editor: undo and redo', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (run .ci/system-deps)`, timeout: 600_000 }, () => {
  let dir: string;
  let server: { url: string; close(): Promise<void> };
  let editor: EditorPage;

  before(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, 'ui/build.mjs')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    dir = mkdtempSync(join(tmpdir(), 'invgraph-undo-'));
    server = await serve({
      port: 0, models: join(ROOT, 'models'), input: join(dir, 'input'), output: join(dir, 'output'), temp: join(dir, 'temp'),
      data: join(dir, 'data'), staticDir: join(ROOT, 'ui/dist'), log: () => {},
    });
    editor = await EditorPage.launch();
    await editor.open(server.url); // a first visit opens txt2img
  });

  after(async () => {
    await editor?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const prompt = () => editor.hook<Prompt>('prompt');
  const depth = () => editor.hook<{ undo: number; redo: number }>('undoDepth');
  const nodeCount = async () => (await editor.nodes()).length;
  const idOf = async (type: string) => (await editor.nodes()).find((n) => n.type === type)!.id;
  /** Waits until the edit made by `act` was recorded as one more undo step. */
  const edit = async (act: () => Promise<void>) => {
    const { undo } = await depth();
    await act();
    await editor.page.waitForFunction((n) => (window as unknown as Hooks).invgraph.undoDepth().undo > n, undo, { timeout: 30_000 });
  };
  const press = async (keys: string) => {
    await editor.page.focus('#graph-canvas');
    await editor.page.keyboard.press(keys);
  };
  /** Waits until `check` (an expression on the hooks `h` and `arg`) holds in the page. */
  const until = async (check: string, arg?: unknown): Promise<void> => {
    await editor.page.waitForFunction(new Function('arg', `const h = window.invgraph; return ${check};`) as (a: unknown) => boolean, arg, { timeout: 30_000 });
  };
  const clickEmpty = async () => {
    const [x, y] = await editor.hook<Point>('emptyCanvasPoint');
    await editor.page.mouse.click(x, y);
  };
  /** A fresh txt2img graph, fitted to the view (the earlier tests panned and edited). */
  const fresh = async () => {
    await editor.page.click('#clear-button');
    await until('h.nodes().length === 0');
    await editor.loadShippedWorkflow('txt2img');
    await until('h.nodes().length === 7');
  };
  /** Undo then redo; `undone` and `redone` check the graph after each. */
  const undoRedo = async (undone: () => Promise<void>, redone: () => Promise<void>, redo = 'Control+y') => {
    await press('Control+z');
    await undone();
    await press(redo);
    await redone();
  };

  test('a widget value change', async () => {
    const original = await prompt();
    const sampler = await idOf('KSampler');
    const [x, y] = await editor.hook<Point>('widgetPosition', sampler, 'steps');
    await edit(async () => {
      await editor.page.mouse.dblclick(x, y);
      await editor.page.fill('.graphdialog input', '33');
      await editor.page.keyboard.press('Enter');
      await until('h.widgetValue(arg, "steps") === 33', sampler);
    });
    await undoRedo(
      async () => {
        await until('h.widgetValue(arg, "steps") === 12', sampler);
        assert.deepEqual(await prompt(), original, 'undo restores the exported prompt exactly');
      },
      async () => {
        await until('h.widgetValue(arg, "steps") === 33', sampler);
        assert.equal((await prompt())[sampler].inputs.steps, 33);
      },
    );
  });

  test('typing in a prompt box', async () => {
    const before = await prompt();
    const clip = await idOf('CLIPTextEncode');
    await edit(async () => {
      await editor.page.click('.node-textarea[data-widget="text"] >> nth=0');
      await editor.page.keyboard.press('End');
      await editor.page.keyboard.type(' at night');
    });
    const typed = String((await prompt())[clip].inputs.text);
    assert.ok(typed.endsWith(' at night'));
    await clickEmpty();
    await undoRedo(
      async () => {
        await until(`h.prompt()[arg].inputs.text === ${JSON.stringify(before[clip].inputs.text)}`, clip);
      },
      async () => until(`h.prompt()[arg].inputs.text === ${JSON.stringify(typed)}`, clip),
    );
  });

  test('moving a node', async () => {
    const sampler = await idOf('KSampler');
    const start = await editor.hook<number[]>('nodeBounds', sampler);
    await edit(() => editor.dragNode(sampler, 0, 90));
    const moved = await editor.hook<number[]>('nodeBounds', sampler);
    assert.ok(moved[1] > start[1] + 40, `moved: ${start} → ${moved}`);
    await undoRedo(
      async () => until(`h.nodeBounds(arg)[1] === ${start[1]}`, sampler),
      async () => until(`h.nodeBounds(arg)[1] === ${moved[1]}`, sampler),
      'Control+Shift+z',
    );
  });

  test('adding, connecting, disconnecting and deleting a node', async () => {
    const count = await nodeCount();
    const decode = await idOf('VAEDecode');
    let preview = '';
    await edit(async () => {
      preview = await editor.addNode('PreviewImage');
    });
    await undoRedo(
      async () => until(`h.nodes().length === ${count}`),
      async () => until(`h.nodes().length === ${count + 1}`),
    );
    // Connect VAEDecode's image to the preview: the prompt gains the PreviewImage node.
    // Both sockets on screen: pan the canvas (drag on empty space) until the preview's input is.
    const [ix] = await editor.hook<Point>('inputPosition', preview, 'images');
    const [px, py] = await editor.hook<Point>('emptyCanvasPoint', true);
    const shift = Math.max(0, ix - 1050);
    await editor.page.mouse.move(px, py);
    await editor.page.mouse.down();
    await editor.page.mouse.move(px - shift, py, { steps: 8 });
    await editor.page.mouse.up();
    await until(`h.inputPosition(arg, 'images')[0] < 1100`, preview);
    await edit(() => editor.connect(decode, 0, preview, 'images'));
    assert.deepEqual((await prompt())[preview].inputs.images, [decode, 0]);
    await undoRedo(
      async () => until(`h.links().every((l) => l.to !== ${JSON.stringify(preview)})`),
      async () => {
        await until(`h.links().some((l) => l.to === ${JSON.stringify(preview)})`);
        assert.deepEqual((await prompt())[preview].inputs.images, [decode, 0]);
      },
    );
    // Disconnect: drag the link off the preview's input and drop it on empty canvas.
    const from = await editor.hook<Point>('inputPosition', preview, 'images');
    const to = await editor.hook<Point>('emptyCanvasPoint');
    await edit(async () => {
      await editor.page.mouse.move(...from);
      await editor.page.mouse.down();
      await editor.page.mouse.move(...to, { steps: 8 });
      await editor.page.mouse.up();
      await until(`h.links().every((l) => l.to !== ${JSON.stringify(preview)})`);
    });
    await undoRedo(
      async () => until(`h.links().some((l) => l.to === ${JSON.stringify(preview)})`),
      async () => until(`h.links().every((l) => l.to !== ${JSON.stringify(preview)})`),
    );
    await press('Control+z'); // connected again, for the delete below
    await until(`h.links().some((l) => l.to === ${JSON.stringify(preview)})`);
    const connected = await prompt();
    // Delete the preview node (select by its title, press Delete).
    const [tx, ty] = await editor.hook<Point>('titlePosition', preview);
    await editor.page.mouse.click(tx, ty);
    await edit(() => editor.page.keyboard.press('Delete'));
    await until(`h.nodes().length === ${count}`);
    await undoRedo(
      async () => {
        await until(`h.nodes().length === ${count + 1}`);
        assert.deepEqual(await prompt(), connected, 'the deleted node comes back with its link');
      },
      async () => until(`h.nodes().length === ${count}`),
    );
  });

  test('paste', async () => {
    await fresh();
    const count = await nodeCount();
    const latent = await idOf('EmptyLatentImage');
    const [tx, ty] = await editor.hook<Point>('titlePosition', latent);
    await editor.page.mouse.click(tx, ty);
    await press('Control+c');
    const [ex, ey] = await editor.hook<Point>('emptyCanvasPoint');
    await editor.page.mouse.move(ex, ey);
    await edit(() => press('Control+v'));
    await until(`h.nodes().length === ${count + 1}`);
    await undoRedo(
      async () => until(`h.nodes().length === ${count}`),
      async () => until(`h.nodes().length === ${count + 1}`),
    );
    await press('Control+z');
    await until(`h.nodes().length === ${count}`);
  });

  test('grouping the selection', async () => {
    await fresh();
    const [a, b] = (await editor.nodes()).filter((n) => n.type === 'CLIPTextEncode');
    await clickEmpty();
    await editor.page.mouse.click(...(await editor.hook<Point>('titlePosition', a.id)));
    await editor.page.keyboard.down('Control');
    await editor.page.mouse.click(...(await editor.hook<Point>('titlePosition', b.id)));
    await editor.page.keyboard.press('g');
    await editor.page.keyboard.up('Control');
    await until('h.groups().length === 1');
    await editor.page.waitForFunction(() => (window as unknown as Hooks).invgraph.undoDepth().redo === 0);
    await undoRedo(
      async () => until('h.groups().length === 0'),
      async () => until('h.groups().length === 1'),
    );
    await editor.screenshot('undo-redo-group');
  });

  test('loading a workflow', async () => {
    const txt2img = await prompt();
    await edit(() => editor.loadShippedWorkflow('img2img'));
    await until('h.nodes().some((n) => n.type === "LoadImage")');
    await undoRedo(
      async () => {
        await until('h.nodes().every((n) => n.type !== "LoadImage")');
        assert.deepEqual(await prompt(), txt2img, 'undo brings back the graph from before the load');
      },
      async () => until('h.nodes().some((n) => n.type === "LoadImage")'),
    );
  });
});
