// Peak memory of ImageUpscaleWithModel's tiling: one child process per case (so the peak RSS is that case's),
// a random 2× SRVGGNetCompact (16 features, 4 convs), input n×n; tiled (ComfyUI's 512 px tiles, overlap 32) or
// untiled (one tile). Prints the peak RSS, the output buffer's size and the time, with the CPU it ran on.
// Usage: node --import tsx bench/upscale-memory.ts [SIZES, default 512,2048]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import { demoUpscalerTensors, openUpscaleModel, upscaleImage } from '../engine/upscale/index.ts';
import { cpuInfo } from './cpu-info.ts';

async function child(size: number, tile: number, modelPath: string, cacheDir: string): Promise<void> {
  const model = openUpscaleModel(modelPath);
  const image = makeImageBatch(1, size, size).data.map((_, i) => (i * 7919) % 1000 / 1000);
  const started = performance.now();
  const out = await upscaleImage(model, makeImageBatch(1, size, size, image), { cacheDir, device: 'cpu', tileSize: tile });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ input: size, tile, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), output_mb: Math.round(out.data.byteLength / 2 ** 20), seconds: Math.round(seconds * 10) / 10 }));
}

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === '--child') {
  const [size, tile, modelPath, cacheDir] = process.argv.slice(3);
  await child(Number(size), Number(tile), modelPath, cacheDir);
} else {
  const sizes = (process.argv[2] ?? '512,2048').split(',').map(Number);
  const dir = tempDir();
  const modelPath = join(dir, 'compact-x2.safetensors');
  writeSafetensors(modelPath, demoUpscalerTensors({ kind: 'compact', features: 16, convs: 4, scale: 2, seed: 3 }));
  console.log(JSON.stringify(cpuInfo()));
  for (const size of sizes) {
    for (const tile of size > 512 ? [512, size] : [size]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', String(size), String(tile), modelPath, join(dir, 'graphs')], { encoding: 'utf8' });
      process.stdout.write(r.stdout || r.stderr);
    }
  }
}
