// workflows/lora-vae.json end to end through `invgraph run`: CheckpointLoaderSimple → LoraLoader (the demo LoRA) and
// VAELoader (the demo VAE) → KSampler → VAEDecode → SaveImage; the LoRA changes the image, strength 0 does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

test('workflows/lora-vae.json runs with the demo LoRA and VAE; the LoRA strength changes the pixels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-lora-'));
  try {
    mkdirSync(join(dir, 'input'));
    const run = (...set: string[]) => {
      const args = ['run', join(ROOT, 'workflows/lora-vae.json'), '--input', join(dir, 'input'), '--out', join(dir, 'output'), '--models', join(ROOT, 'models'),
        '--set', '5.width=64', '--set', '5.height=64', '--set', '3.steps=3', ...set.flatMap((s) => ['--set', s])];
      const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 180_000 });
      assert.equal(result.status, 0, result.stderr);
      return result;
    };
    const withLora = run();
    assert.match(withLora.stderr, /invgraph-demo-lora\.safetensors: \d+ UNet and \d+ text encoder layers/);
    assert.match(withLora.stderr, /invgraph-demo-tiny-vae\.safetensors: VAE/);
    const without = run('10.strength_model=0', '10.strength_clip=0');
    const [a, b] = await Promise.all([withLora, without].map((r) => sharp(r.stdout.trim()).raw().toBuffer()));
    assert.equal(a.length, 64 * 64 * 3);
    assert.ok(!a.equals(b), 'the LoRA changes the image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
