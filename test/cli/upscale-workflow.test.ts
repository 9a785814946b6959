// workflows/upscale.json end to end through `invgraph run`: LoadImage → UpscaleModelLoader (the demo
// SRVGGNetCompact 4×, shipped in models/upscale_models) → ImageUpscaleWithModel → SaveImage. The demo model adds
// a faint residual to the nearest-upscaled input, so the saved image is close to (but not) a nearest resize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

test('workflows/upscale.json upscales the example image 4x with the demo model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-upscale-'));
  try {
    mkdirSync(join(dir, 'input'));
    copyFileSync(join(ROOT, 'workflows/inputs/example.png'), join(dir, 'input', 'example.png'));
    const args = ['run', join(ROOT, 'workflows/upscale.json'), '--input', join(dir, 'input'), '--out', join(dir, 'output'), '--models', join(ROOT, 'models')];
    const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 180_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /invgraph-demo-compact-x4\.safetensors: SRVGGNetCompact \(Real-ESRGAN compact\) 4x/);
    const saved = sharp(result.stdout.trim());
    const { width, height } = await saved.metadata();
    assert.deepEqual([width, height], [1024, 1024]);
    const [out, nearest] = await Promise.all([
      saved.removeAlpha().raw().toBuffer(),
      sharp(join(ROOT, 'workflows/inputs/example.png')).removeAlpha().resize(1024, 1024, { kernel: 'nearest' }).raw().toBuffer(),
    ]);
    let diff = 0;
    for (let i = 0; i < out.length; i++) diff += Math.abs(out[i] - nearest[i]);
    const mean = diff / out.length;
    assert.ok(mean > 0.2 && mean < 5, `mean |upscaled - nearest| = ${mean} (0..255)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
