// The real-size memory benchmark runs end to end (here on the tiny demo models, at 64 px): its JSON has the
// CPU facts and, per workflow, cold and warm runs with a peak RSS and model load times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('bench/workflow-memory.ts reports cold and warm runs of a workflow', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/workflow-memory.ts',
    'models/checkpoints/invgraph-demo-tiny.safetensors', 'models/controlnet/invgraph-demo-tiny-controlnet.safetensors',
    '--size', '64', '--steps', '1', '--workflows', 'txt2img'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  const report = JSON.parse(out);
  assert.ok(report.cpu.model && Array.isArray(report.cpu.simd));
  const { cold, warm } = report.results.txt2img;
  for (const run of [cold, warm]) {
    assert.equal(run.exit, 0);
    assert.ok(run.peak_rss_mb > 50, `peak ${run.peak_rss_mb} MB`);
    assert.deepEqual(run.model_loads.map((l: { name: string }) => l.name).sort(), ['clip-text', 'unet', 'vae-decoder']);
  }
});
