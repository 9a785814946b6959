// The unet_controlnet parity section: every tensor of unet_controlnet.safetensors is recomputed through the fused
// UNet + ControlNet graph and within max|a−b| ≤ 1e-4·(1+max|ref|).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runParity } from '../../cli/parity/run-parity.ts';

const FIXTURE = new URL('../fixtures/sd15-tiny', import.meta.url).pathname;

test('unet_controlnet: 12 down residuals, mid residual, out and out_without_control all compared and within tolerance', async () => {
  const log = await runParity(FIXTURE, { sections: ['unet_controlnet'] });
  const keys = [...Array.from({ length: 12 }, (_, k) => `down_residual.${k}`), 'mid_residual', 'out', 'out_without_control'];
  assert.deepEqual(log.reports.map((r) => r.key), keys.map((k) => `unet_controlnet/${k}`));
  assert.deepEqual(log.failed.map((r) => `${r.key}: ${r.max_abs_error} > ${r.tolerance}`), []);
});
