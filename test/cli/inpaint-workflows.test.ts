// The shipped inpainting and outpainting workflows run end to end through the CLI on the tiny demo model, on a
// fresh input folder (the CLI copies workflows/inputs there): inpaint.json repaints the transparent disc of
// example-inpaint.png (LoadImage's MASK → VAEEncodeForInpaint), outpaint.json grows example.png by 64 pixels left
// and right (ImagePadForOutpaint → VAEEncodeForInpaint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

function run(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(cwd, 'graphs') }, timeout: 300_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('inpaint.json and outpaint.json run: 256×256 inpainted, 384×256 outpainted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-inpaint-'));
  try {
    const [input, out] = [join(dir, 'input'), join(dir, 'output')];
    mkdirSync(out);
    const common = ['--input', input, '--out', out, '--models', join(ROOT, 'models'), '--set', '3.steps=2'];
    const inpaint = run(['run', join(ROOT, 'workflows/inpaint.api.json'), ...common], dir);
    assert.equal(inpaint.code, 0, inpaint.stderr);
    const inpainted = await sharp(inpaint.stdout.trim()).metadata();
    assert.deepEqual([inpainted.width, inpainted.height], [256, 256]);
    const outpaint = run(['run', join(ROOT, 'workflows/outpaint.api.json'), ...common], dir);
    assert.equal(outpaint.code, 0, outpaint.stderr);
    const outpainted = await sharp(outpaint.stdout.trim()).metadata();
    assert.deepEqual([outpainted.width, outpainted.height], [384, 256]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
