// The page object for the editor's browser tests (one place that knows the editor's DOM and
// hooks; style.md §10): launches Debian's Chromium through playwright-core (never downloads
// a browser), acts with real mouse/keyboard input and waits on state, never on fixed sleeps.
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext, type FileChooser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = new URL('../output/screenshots/', import.meta.url);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

type Point = [number, number];

export interface RunSnapshot {
  running: string | null;
  promptId: string | undefined;
  nodes: Record<string, { progress?: { value: number; max: number }; outputs: string[]; imagesLoaded: number; hasPreview: boolean; errors: { message: string; details: string; input?: string }[] }>;
}

export interface RunEvent {
  type: string;
  node?: string | null;
  value?: number;
  max?: number;
}

/** The editor's read-only test hooks, `window.invgraph` (ui/src/test-hooks.ts). */
type Hooks = Record<string, (...args: unknown[]) => unknown> & { nodes(): unknown[]; events(): RunEvent[]; run(): RunSnapshot };

export class EditorPage {
  readonly errors: string[] = [];
  private readonly chooserWaiters: ((chooser: FileChooser) => void)[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profile: string,
  ) {
    page.on('pageerror', (error) => this.errors.push(error.message));
    // Listening from the start turns Chromium's file-chooser interception on before any click
    // (enabling it per upload races the click, and a real dialog then opens unseen).
    page.on('filechooser', (chooser) => {
      const waiter = this.chooserWaiters.shift();
      if (waiter) waiter(chooser);
    });
  }

  static async launch(viewport = { width: 1400, height: 860 }): Promise<EditorPage> {
    const profile = mkdtempSync(join(tmpdir(), 'invgraph-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport,
      acceptDownloads: true,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return new EditorPage(context, page, profile);
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }

  /** Opens the editor and waits until it has loaded /object_info and connected. */
  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.waitForSelector('body[data-ready]');
    const ready = await this.page.evaluate(() => document.body.dataset.ready);
    if (ready !== 'true') throw new Error(`editor failed to start: ${await this.toasts()}`);
  }

  async hook<T>(name: string, ...args: unknown[]): Promise<T> {
    return (await this.page.evaluate(([n, a]) => (window as unknown as { invgraph: Hooks }).invgraph[n as string](...(a as unknown[])), [name, args] as const)) as T;
  }

  nodes(): Promise<{ id: string; type: string; title: string }[]> {
    return this.hook('nodes');
  }

  links(): Promise<{ from: string; fromSlot: number; to: string; toSlot: number; type: string }[]> {
    return this.hook('links');
  }

  run(): Promise<RunSnapshot> {
    return this.hook('run');
  }

  events(): Promise<RunEvent[]> {
    return this.hook('events');
  }

  async toasts(): Promise<string[]> {
    return this.page.locator('.toast').allTextContents();
  }

  /** Adds a node through the palette's search box; returns its id. */
  async addNode(type: string): Promise<string> {
    const before = new Set((await this.nodes()).map((n) => n.id));
    await this.page.fill('.palette-search', type);
    await this.page.click(`.palette-item[data-type="${type}"]`);
    await this.page.fill('.palette-search', '');
    const added = (await this.nodes()).find((n) => !before.has(n.id) && n.type === type);
    if (!added) throw new Error(`no ${type} node was added`);
    return added.id;
  }

  /** Moves a node by dragging its title bar. */
  async dragNode(id: string, dx: number, dy: number): Promise<void> {
    const [x, y] = await this.hook<Point>('titlePosition', id);
    await this.drag([x, y], [x + dx, y + dy]);
  }

  /** Drags from an output socket to an input socket with the mouse. */
  async connect(fromId: string, output: number, toId: string, input: string): Promise<void> {
    const from = await this.hook<Point>('outputPosition', fromId, output);
    const to = await this.hook<Point>('inputPosition', toId, input);
    await this.drag(from, to);
  }

  private async drag(from: Point, to: Point): Promise<void> {
    const mouse = this.page.mouse;
    await mouse.move(...from);
    await mouse.down();
    await mouse.move(...to, { steps: 8 });
    await mouse.up();
  }

  /** Picks a shipped workflow from the toolbar menu and waits for its nodes. */
  async loadShippedWorkflow(name: string): Promise<void> {
    await this.page.waitForSelector(`#workflow-menu option[value="${name}"]`, { state: 'attached' });
    await this.page.selectOption('#workflow-menu', name);
    await this.page.waitForFunction(() => (window as unknown as { invgraph: Hooks }).invgraph.nodes().length > 0);
  }

  /** Clicks LoadImage's upload button and answers the file chooser. */
  async uploadInto(nodeId: string, file: string): Promise<void> {
    const [x, y] = await this.hook<Point>('widgetPosition', nodeId, 'choose file to upload');
    let timer: NodeJS.Timeout | undefined;
    const chosen = new Promise<FileChooser>((resolve, reject) => {
      this.chooserWaiters.push(resolve);
      timer = setTimeout(() => {
        this.chooserWaiters.splice(this.chooserWaiters.indexOf(resolve), 1);
        reject(new Error(`no file chooser opened after clicking node ${nodeId}'s upload button`));
      }, 10_000);
    });
    await this.page.mouse.click(x, y);
    const chooser = await chosen.finally(() => clearTimeout(timer));
    await chooser.setFiles(file);
    await this.page.waitForFunction(
      ([id, name]) => String((window as unknown as { invgraph: Hooks }).invgraph.widgetValue(id, 'image')).startsWith(name),
      [nodeId, basename(file).replace(/\.[^.]+$/, '')] as const,
    );
  }

  /** Drops a file onto the canvas at a point (client coordinates), as a user drag would. */
  async dropFile(file: string, mime: string, at: Point = [700, 400]): Promise<void> {
    const base64 = readFileSync(file).toString('base64');
    await this.page.evaluate(
      ([data, name, type, x, y]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type }));
        const canvas = document.getElementById('graph-canvas')!;
        canvas.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, clientX: x, clientY: y, bubbles: true, cancelable: true }));
      },
      [base64, basename(file), mime, at[0], at[1]] as const,
    );
  }

  /** Ctrl+Enter on the canvas; resolves once the server answered (prompt accepted or refused). */
  async queueWithKeyboard(): Promise<void> {
    const answered = this.page.waitForResponse((r) => r.url().endsWith('/api/prompt') && r.request().method() === 'POST');
    await this.page.focus('#graph-canvas');
    await this.page.keyboard.press('Control+Enter');
    await answered;
  }

  async queueWithButton(): Promise<void> {
    const answered = this.page.waitForResponse((r) => r.url().endsWith('/api/prompt') && r.request().method() === 'POST');
    await this.page.click('#queue-button');
    await answered;
  }

  /** Waits until the run of the last queued prompt ended (executing null), then returns its events. */
  async waitForRunEnd(timeout = 30_000): Promise<RunEvent[]> {
    await this.page.waitForFunction(
      () => {
        const events = (window as unknown as { invgraph: Hooks }).invgraph.events();
        const start = events.map((e) => e.type).lastIndexOf('execution_start');
        return start >= 0 && events.slice(start).some((e) => e.type === 'executing' && e.node === null);
      },
      undefined,
      { timeout },
    );
    const events = await this.events();
    return events.slice(events.map((e) => e.type).lastIndexOf('execution_start'));
  }

  /** Waits until a node shows loaded output images; returns their file names. */
  async waitForOutputImages(nodeId: string): Promise<string[]> {
    await this.page.waitForFunction((id) => {
      const run = (window as unknown as { invgraph: Hooks }).invgraph.run() as RunSnapshot;
      return (run.nodes[id]?.imagesLoaded ?? 0) > 0;
    }, nodeId);
    return (await this.run()).nodes[nodeId].outputs;
  }

  async waitForNodeErrors(nodeId: string): Promise<RunSnapshot['nodes'][string]['errors']> {
    await this.page.waitForFunction((id) => ((window as unknown as { invgraph: Hooks }).invgraph.run() as RunSnapshot).nodes[id]?.errors.length > 0, nodeId);
    return (await this.run()).nodes[nodeId].errors;
  }

  /** Clicks "Export API" and returns the downloaded prompt. */
  async exportApi(): Promise<unknown> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.page.click('#export-api-button')]);
    return JSON.parse(readFileSync(await download.path(), 'utf8'));
  }

  /** Clicks "Save" and returns the downloaded UI workflow. */
  async saveWorkflow(): Promise<{ version: number; nodes: unknown[]; links: unknown[] }> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.page.click('#save-button')]);
    return JSON.parse(readFileSync(await download.path(), 'utf8'));
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS.pathname, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }
}
