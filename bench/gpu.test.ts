// The prepared device check's CPU fallback runs end to end (CI has no GPU): bench/gpu.sh with the tiny demo
// models at 256 px prints, per provider, the UNet step and the txt2img and Inv-Adapter workflows, cold and warm,
// with peak memory and model load times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('bench/gpu.sh --device cpu reports the UNet step and both workflows', { timeout: 600_000 }, () => {
  const out = execFileSync('bash', ['bench/gpu.sh', '--device', 'cpu', '--model', 'tiny', '--size', '256', '--steps', '1'],
    { cwd: ROOT, encoding: 'utf8', timeout: 580_000, env: { ...process.env, INVGRAPH_GPU_WORK: fileURLToPath(new URL('../test/output/gpu-work', import.meta.url)) } });
  const report = JSON.parse(out);
  assert.equal(report.provider, 'cpu');
  assert.ok(report.unet_step.unet_call_s['256px'] > 0);
  assert.equal(report.unet_step.compute, 'float32');
  for (const workflow of ['txt2img', 'inv-adapter']) {
    const { cold, warm } = report.workflows.results[workflow];
    for (const run of [cold, warm]) {
      assert.equal(run.exit, 0, `${workflow} exit`);
      assert.ok(run.peak_rss_mb > 50 && run.model_loads.some((l: { name: string }) => l.name === 'unet'));
    }
  }
  assert.ok(report.workflows.cpu.model);
});
