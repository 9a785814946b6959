// workflows/hypernetwork.json end to end through `invgraph run`: CheckpointLoaderSimple → HypernetworkLoader (the
// demo hypernetwork) → KSampler → VAEDecode → SaveImage; the hypernetwork changes the image, strength 0 gives
// txt2img's image exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

test('workflows/hypernetwork.json runs with the demo hypernetwork; strength 0 is the txt2img image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-hn-'));
  try {
    mkdirSync(join(dir, 'input'));
    const run = (workflow: string, ...set: string[]) => {
      const args = ['run', join(ROOT, 'workflows', workflow), '--input', join(dir, 'input'), '--out', join(dir, 'output'), '--models', join(ROOT, 'models'),
        '--set', '5.width=64', '--set', '5.height=64', '--set', '3.steps=3', ...set.flatMap((s) => ['--set', s])];
      const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 180_000 });
      assert.equal(result.status, 0, result.stderr);
      return result;
    };
    const withNet = run('hypernetwork.json');
    assert.match(withNet.stderr, /invgraph-demo-hypernetwork\.pt: MLPs for widths 32, 64, relu activation, strength 1/);
    const zero = run('hypernetwork.json', '10.strength=0');
    const plain = run('txt2img.json');
    const [a, b, c] = await Promise.all([withNet, zero, plain].map((r) => sharp(r.stdout.trim()).raw().toBuffer()));
    assert.equal(a.length, 64 * 64 * 3);
    assert.ok(!a.equals(b), 'the hypernetwork changes the image');
    assert.ok(b.equals(c), 'strength 0 is the plain model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
