// The `invgraph run` command end to end, as a user runs it: a child process on real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { readPngTextChunks } from '../../engine/image/index.ts';
import { loadWorkflow, parseJson } from '../../engine/graph/index.ts';
import { createRegistry } from '../../nodes/index.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');
const RESIZE = join(ROOT, 'test/fixtures/workflows/resize.api.json');
const TXT2IMG = join(ROOT, 'workflows/txt2img.json');

function workspace(): { dir: string; input: string; out: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-'));
  const input = join(dir, 'input');
  const out = join(dir, 'output');
  mkdirSync(input);
  return { dir, input, out, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function invgraph(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(cwd, 'graphs') }, timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function writePortrait(path: string): Promise<void> {
  await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toFile(path);
}

test('runs an API-format LoadImage → ImageScale → SaveImage workflow and prints the PNG it wrote', async () => {
  const ws = workspace();
  try {
    await writePortrait(join(ws.input, 'portrait.png'));
    const run = invgraph(['run', RESIZE, '--input', ws.input, '--out', ws.out], ws.dir);
    assert.equal(run.code, 0, run.stderr);
    const printed = run.stdout.trim().split('\n');
    assert.deepEqual(printed, [join(ws.out, 'resized', 'ComfyUI_00001_.png')]);
    const png = readFileSync(printed[0]);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 48]);
    const text = readPngTextChunks(png);
    assert.deepEqual(Object.keys(text), ['prompt']);
    // Python json.dumps form, as ComfyUI writes it.
    assert.match(text.prompt, /^\{"1": \{"inputs": \{"image": "portrait.png", "upload": "image"\}, "class_type": "LoadImage"/);
  } finally {
    ws.cleanup();
  }
});

test('--set with a mistyped input name fails and names the input it most likely meant', async () => {
  const ws = workspace();
  try {
    await writePortrait(join(ws.input, 'portrait.png'));
    const run = invgraph(['run', RESIZE, '--input', ws.input, '--out', ws.out, '--set', '2.widht=64'], ws.dir);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stderr.slice(run.stderr.indexOf('{')));
    assert.match(report.error.message, /--set 2\.widht: ImageScale has no input "widht" \(did you mean "width"\?\)/);
    assert.deepEqual(readdirSync(ws.out).length, 0);
  } finally {
    ws.cleanup();
  }
});

test('a workflow with a missing input fails with the structured error and writes nothing', async () => {
  const ws = workspace();
  try {
    await writePortrait(join(ws.input, 'portrait.png'));
    const prompt = JSON.parse(readFileSync(RESIZE, 'utf8'));
    delete prompt['2'].inputs.width;
    const path = join(ws.dir, 'broken.json');
    writeFileSync(path, JSON.stringify(prompt));
    const run = invgraph(['run', path, '--input', ws.input, '--out', ws.out], ws.dir);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stderr.slice(run.stderr.indexOf('{')));
    assert.equal(report.error.type, 'prompt_outputs_failed_validation');
    assert.equal(report.node_errors['2'].errors[0].type, 'required_input_missing');
    assert.equal(report.node_errors['2'].errors[0].extra_info.input_name, 'width');
    assert.deepEqual(readdirSync(ws.out).length, 0);
  } finally {
    ws.cleanup();
  }
});

test('txt2img on the tiny model: same seed twice gives bit-identical images; a 64-bit seed keeps its exact value', async () => {
  const ws = workspace();
  try {
    const seed = '18446744073709551615';
    const args = ['run', TXT2IMG, '--input', ws.input, '--out', ws.out, '--models', join(ROOT, 'models'), '--set', `3.seed=${seed}`, '--set', '5.width=64', '--set', '5.height=64', '--set', '3.steps=4'];
    const first = invgraph(args, ws.dir);
    assert.equal(first.code, 0, first.stderr);
    const second = invgraph(args, ws.dir);
    assert.equal(second.code, 0, second.stderr);
    const [a, b] = [first, second].map((r) => r.stdout.trim());
    assert.notEqual(a, b, 'counter-based names: the second run writes a new file');
    const pixels = await Promise.all([a, b].map((p) => sharp(p).raw().toBuffer()));
    assert.ok(pixels[0].equals(pixels[1]), 'same seed → same pixels');
    const prompt = readPngTextChunks(readFileSync(a)).prompt;
    assert.ok(prompt.includes(`"seed": ${seed}`), 'the exact 64-bit seed is in the metadata');
    assert.ok(prompt.includes('"cfg": 7.5') && prompt.includes('"denoise": 1.0'), 'FLOAT inputs print as Python floats');
    const workflow = readPngTextChunks(readFileSync(a)).workflow;
    assert.ok(workflow.startsWith('{"id": '), 'UI workflows are embedded as the workflow chunk');
    // The embedded workflow is the one that ran (--set applied): reopened, it gives the same prompt.
    const reopened = loadWorkflow(parseJson(workflow), createRegistry());
    const ran = parseJson(prompt) as Record<string, { inputs: Record<string, unknown> }>;
    assert.equal(reopened['3'].inputs.seed, BigInt(seed));
    for (const [id, input] of [['3', 'seed'], ['3', 'steps'], ['5', 'width'], ['5', 'height']]) {
      assert.deepEqual(reopened[id].inputs[input], ran[id].inputs[input], `${id}.${input}`);
    }
    assert.match(first.stderr, /KSampler/);
    const other = invgraph([...args.slice(0, -6), '--set', '3.seed=18446744073709551614', '--set', '5.width=64', '--set', '5.height=64', '--set', '3.steps=4'], ws.dir);
    assert.equal(other.code, 0, other.stderr);
    const otherPixels = await sharp(other.stdout.trim()).raw().toBuffer();
    assert.ok(!otherPixels.equals(pixels[0]), 'a seed one lower gives another image');
  } finally {
    ws.cleanup();
  }
});

test('the Inv-Adapter workflow runs end to end on a real photo with the tiny model, timing every stage', async () => {
  const ws = workspace();
  try {
    const faceApi = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
    const photo = join(faceApi, '..', 'demo', 'sample1.jpg');
    const run = invgraph(['run', join(ROOT, 'workflows/inv-adapter.json'), '--input', ws.input, '--out', ws.out, '--models', join(ROOT, 'models'), '--set', `1.image=${photo}`], ws.dir);
    assert.equal(run.code, 0, run.stderr);
    const [png] = run.stdout.trim().split('\n');
    assert.match(png, /invgraph_inv_adapter_00001_\.png$/);
    for (const stage of ['FaceCrop', 'DDIMInvert', 'ExtractDiffusionFeatures', 'InvAdapterLoader', 'EAAInject', 'KSampler', 'VAEDecode', 'FaceSimilarity']) {
      assert.match(run.stderr, new RegExp(`\\] ${stage} done in \\d+\\.\\d\\d s`), `time of ${stage}`);
    }
    // The random-weight model paints no face: FaceSimilarity (the photo vs the generated image)
    // scores 0 and says why instead of failing; the photo itself has a face.
    assert.match(run.stderr, /\[15\] similarity 0, no score possible: image_b: no face found in image 0 \(128x128\), so there is no identity to compare: the detector/);
    assert.doesNotMatch(run.stderr, /image_a: no face found/);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 128]);
  } finally {
    ws.cleanup();
  }
});

test('Ctrl+C interrupts a long sampling run: exit code 130, nothing saved', async () => {
  const ws = workspace();
  try {
    const child = spawn(process.execPath, [BIN, 'run', TXT2IMG, '--input', ws.input, '--out', ws.out, '--models', join(ROOT, 'models'),
      '--set', '3.steps=5000', '--set', '5.width=64', '--set', '5.height=64'], { cwd: ws.dir, env: { ...process.env, INVGRAPH_CACHE_DIR: join(ws.dir, 'graphs') } });
    let stderr = '';
    const sampling = new Promise<void>((resolve) => child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      if (/KSampler \d+\/5000/.test(stderr)) resolve();
    }));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await sampling;
    const sentAt = Date.now();
    child.kill('SIGINT');
    const end = await exited;
    assert.equal(end.code, 130, `exit code ${end.code}, signal ${end.signal}; stderr ends:\n${stderr.slice(-3000)}`);
    assert.ok(Date.now() - sentAt < 10_000, 'stopped within a few steps');
    assert.match(stderr, /"type": "interrupted"|execution_interrupted|interrupted/);
    assert.deepEqual(readdirSync(ws.out).filter((f) => f.endsWith('.png')), []);
  } finally {
    ws.cleanup();
  }
});

test('the Inv-Adapter + ControlNet workflow (adapter and ControlNet fused in one UNet graph) runs on the tiny model', async () => {
  const ws = workspace();
  try {
    const faceApi = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
    const run = invgraph(['run', join(ROOT, 'workflows/inv-adapter-controlnet.json'), '--input', ws.input, '--out', ws.out, '--models', join(ROOT, 'models'),
      '--set', `1.image=${join(faceApi, '..', 'demo', 'sample2.jpg')}`, '--set', `16.image=${join(ROOT, 'workflows/inputs/example.png')}`], ws.dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout.trim(), /invgraph_inv_adapter_00001_\.png$/);
    for (const stage of ['ImageToDepthStyle', 'ControlNetApplyAdvanced', 'EAAInject', 'KSampler']) assert.match(run.stderr, new RegExp(`\\] ${stage} done in`));
  } finally {
    ws.cleanup();
  }
});
