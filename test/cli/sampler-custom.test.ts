// workflows/sampler-custom-advanced.api.json end to end through `invgraph run`: RandomNoise + CFGGuider +
// KSamplerSelect + BasicScheduler → SamplerCustomAdvanced gives KSampler's image for the same seed, sampler,
// scheduler, steps and cfg; another sampler (uni_pc_bh2) gives another image; SamplerCustom with a σ list split
// in two (SplitSigmas, the second half continued without new noise) gives the one-pass image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');
const CUSTOM = join(ROOT, 'workflows/sampler-custom-advanced.api.json');
const TXT2IMG = join(ROOT, 'workflows/txt2img.api.json');

test('SamplerCustomAdvanced equals KSampler; another sampler differs; a split σ list equals one pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-cli-custom-'));
  try {
    mkdirSync(join(dir, 'input'));
    const run = (workflow: string, ...set: string[]) => {
      const args = ['run', workflow, '--input', join(dir, 'input'), '--out', join(dir, 'output'), '--models', join(ROOT, 'models'),
        '--set', '5.width=64', '--set', '5.height=64', ...set.flatMap((s) => ['--set', s])];
      const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 300_000 });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.trim().split('\n');
    };
    const pixels = (file: string) => sharp(file).raw().toBuffer();
    const custom = await pixels(run(CUSTOM, '13.steps=3')[0]);
    const ksampler = await pixels(run(TXT2IMG, '3.steps=3')[0]);
    assert.equal(custom.length, 64 * 64 * 3);
    assert.ok(custom.equals(ksampler), 'SamplerCustomAdvanced and KSampler disagree');
    const uniPc = await pixels(run(CUSTOM, '13.steps=3', '12.sampler_name=uni_pc_bh2')[0]);
    assert.ok(!uniPc.equals(custom), 'uni_pc_bh2 gave the euler image');

    // SamplerCustom over σ[0…1] with noise, then over σ[1…] without: euler has no memory, so this is the
    // one-pass image; its first stage's denoised_output is a different latent (the prediction at σ_1).
    const prompt = JSON.parse(readFileSync(CUSTOM, 'utf8'));
    prompt['13'].inputs.steps = 3;
    prompt['15'] = { class_type: 'SplitSigmas', inputs: { sigmas: ['13', 0], step: 1 } };
    const stage = (sigmas: number, latent: [string, number], addNoise: boolean) => ({
      class_type: 'SamplerCustom',
      inputs: { model: ['4', 0], add_noise: addNoise, noise_seed: 156680208700286, cfg: 7.5, positive: ['6', 0], negative: ['7', 0], sampler: ['12', 0], sigmas: ['15', sigmas], latent_image: latent },
    });
    prompt['16'] = stage(0, ['5', 0], true);
    prompt['17'] = stage(1, ['16', 0], false);
    prompt['8'].inputs.samples = ['17', 0];
    prompt['18'] = { class_type: 'VAEDecode', inputs: { samples: ['16', 1], vae: ['4', 2] } };
    prompt['19'] = { class_type: 'SaveImage', inputs: { images: ['18', 0], filename_prefix: 'denoised' } };
    delete prompt['14'];
    const path = join(dir, 'split.json');
    writeFileSync(path, JSON.stringify(prompt));
    const files = run(path);
    assert.equal(files.length, 2, files.join('\n'));
    const [split, firstDenoised] = await Promise.all(files.map(pixels));
    const twoStage = files[0].includes('denoised') ? firstDenoised : split;
    const preview = files[0].includes('denoised') ? split : firstDenoised;
    assert.ok(twoStage.equals(custom), 'the split run differs from one pass');
    assert.ok(!preview.equals(custom), 'the first stage\'s denoised_output is the final image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
