// The shipped GLIGEN workflow runs end to end through the CLI on the tiny demo model and the demo GLIGEN file:
// two GLIGENTextBoxApply boxes chained on the positive prompt. The same run also samples the prompt without the
// boxes: the grounding must change the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');
const WORKFLOW = join(ROOT, 'workflows/gligen.api.json');

test('GLIGEN: two text boxes give a 128×128 image that differs from the prompt without boxes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-gligen-'));
  try {
    const [input, out] = [join(dir, 'input'), join(dir, 'output')];
    mkdirSync(input);
    mkdirSync(out);
    const prompt = JSON.parse(readFileSync(WORKFLOW, 'utf8'));
    assert.deepEqual(prompt['3'].inputs.positive, ['12', 0], 'the sampler takes the conditioning with both boxes');
    assert.deepEqual(prompt['12'].inputs.conditioning_to, ['11', 0]);
    prompt['3'].inputs.steps = 3;
    prompt['20'] = { class_type: 'KSampler', inputs: { ...prompt['3'].inputs, positive: ['6', 0] } };
    prompt['21'] = { class_type: 'VAEDecode', inputs: { samples: ['20', 0], vae: prompt['8'].inputs.vae } };
    prompt['22'] = { class_type: 'SaveImage', inputs: { images: ['21', 0], filename_prefix: 'no_boxes' } };
    const path = join(dir, 'prompt.json');
    writeFileSync(path, JSON.stringify(prompt));
    const result = spawnSync(process.execPath, [BIN, 'run', path, '--input', input, '--out', out, '--models', join(ROOT, 'models')], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, INVGRAPH_CACHE_DIR: join(dir, 'graphs') }, timeout: 300_000,
    });
    assert.equal(result.status, 0, result.stderr);
    const files = result.stdout.trim().split('\n');
    assert.equal(files.length, 2, result.stdout);
    const grounded = files.find((f) => f.includes('invgraph_gligen')) ?? assert.fail(result.stdout);
    const plain = files.find((f) => f.includes('no_boxes')) ?? assert.fail(result.stdout);
    const meta = await sharp(grounded).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 128]);
    const [a, b] = await Promise.all([grounded, plain].map((f) => sharp(f).raw().toBuffer()));
    let differing = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 2) differing++;
    assert.ok(differing > a.length / 20, `only ${differing} of ${a.length} values differ`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
