// The ControlNet-family workflows end to end through `invgraph run`: workflows/controlnet-diff.json (DiffControlNetLoader
// with the demo "difference" ControlNet, which is the demo ControlNet minus the demo UNet) gives the image of
// workflows/controlnet-canny.json (the demo ControlNet itself): the model's weights really are added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

function runner(dir: string) {
  return (workflow: string, ...set: string[]) => {
    const args = ['run', join(ROOT, 'workflows', workflow), '--input', join(dir, 'input'), '--out', join(dir, 'output'), '--models', join(ROOT, 'models'),
      '--set', '5.width=64', '--set', '5.height=64', '--set', '3.steps=3', ...set.flatMap((s) => ['--set', s])];
    const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 240_000 });
    assert.equal(result.status, 0, result.stderr);
    return result;
  };
}

/** The SaveImage output (the workflows also preview the hint). */
function saved(stdout: string): Promise<Buffer> {
  const path = stdout.split('\n').find((line) => /invgraph_controlnet_\w+_\d+_?\.png$/.test(line.trim()));
  assert.ok(path, stdout);
  return sharp(path.trim()).raw().toBuffer();
}

function maxDifference(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

test('workflows/controlnet-diff.json: the difference ControlNet plus the demo UNet gives the demo ControlNet\'s image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-diffcn-'));
  try {
    mkdirSync(join(dir, 'input'));
    copyFileSync(join(ROOT, 'workflows/inputs/example.png'), join(dir, 'input', 'example.png'));
    const run = runner(dir);
    const diff = run('controlnet-diff.json');
    assert.match(diff.stderr, /invgraph-demo-tiny-diff-controlnet\.safetensors: difference ControlNet added to invgraph-demo-tiny\.safetensors/);
    const plain = run('controlnet-canny.json');
    const off = run('controlnet-diff.json', '14.strength=0');
    const [a, b, c] = await Promise.all([diff, plain, off].map((r) => saved(r.stdout)));
    assert.equal(a.length, 64 * 64 * 3);
    // (W − U) + U equals W up to float rounding: at most one 8-bit step anywhere.
    assert.ok(maxDifference(a, b) <= 1, `diff vs plain ControlNet: max ${maxDifference(a, b)}`);
    assert.ok(maxDifference(a, c) > 8, 'the ControlNet changes the image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
