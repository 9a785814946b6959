// img2img with a mask (SetLatentNoiseMask): the shipped workflow runs through the CLI, and the sampler keeps
// the latent outside the mask. Two seeds then give nearly the same pixels far from example-inpaint.png's
// transparent disc (only the VAE decoder's attention carries the change there) and different pixels inside it.
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

async function region(file: string, left: number, top: number, size: number): Promise<Buffer> {
  return sharp(file).extract({ left, top, width: size, height: size }).raw().toBuffer();
}

/** Mean absolute difference of one square region of two images, in 0…255. */
async function regionDifference(files: string[], left: number, top: number, size = 32): Promise<number> {
  const [a, b] = await Promise.all(files.map((f) => region(f, left, top, size)));
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

test('img2img-mask.api.json: only the masked disc changes with the seed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-img2img-mask-'));
  try {
    const [input, out] = [join(dir, 'input'), join(dir, 'output')];
    mkdirSync(out);
    const files: string[] = [];
    for (const seed of [1, 2]) {
      const result = run(['run', join(ROOT, 'workflows/img2img-mask.api.json'), '--input', input, '--out', out, '--models', join(ROOT, 'models'), '--set', '3.steps=3', '--set', `3.seed=${seed}`], dir);
      assert.equal(result.code, 0, result.stderr);
      files.push(result.stdout.trim());
    }
    const meta = await sharp(files[0]).metadata();
    assert.deepEqual([meta.width, meta.height], [256, 256]);
    // The disc spans pixels 72…183; the corners are 40+ pixels (5+ latent cells) away from it.
    const centre = await regionDifference(files, 112, 112);
    const corners = await Promise.all([[0, 0], [224, 0], [0, 224], [224, 224]].map(([left, top]) => regionDifference(files, left, top)));
    assert.ok(centre > 2, `the masked centre is resampled (mean difference ${centre.toFixed(2)})`);
    for (const corner of corners) assert.ok(corner < centre / 4, `corners kept: ${corners.map((c) => c.toFixed(2))} vs centre ${centre.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
