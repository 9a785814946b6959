// Demo data: writes models/hypernetworks/invgraph-demo-hypernetwork.pt, an A1111-format hypernetwork for the demo
// checkpoint: MLP pairs (layer structure 1, 2, 1, relu) for each of its attention widths and its text width, as a
// real SD1.5 file has them for 320, 640, 768 and 1280. Seeded values, like the demo checkpoint random; small
// enough (gain 0.5) that the image stays near the plain model's. `npm test` checks the committed file is this output.
// Usage: node --import tsx models/generate-demo-hypernetwork.ts [--out PATH]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openCheckpoint } from '../engine/sd/index.ts';
import { writeDemoHypernetwork } from '../engine/sd/hypernetwork/demo-hypernetwork.ts';
import type { DemoHypernetworkOptions } from '../engine/sd/hypernetwork/demo-hypernetwork.ts';
import { DEMO_CHECKPOINT } from './generate-demo-lora.ts';

export const DEMO_HYPERNETWORK = fileURLToPath(new URL('./hypernetworks/invgraph-demo-hypernetwork.pt', import.meta.url));

/** The demo file's options: the demo checkpoint's attention widths and text width. */
export function demoHypernetworkOptions(): DemoHypernetworkOptions {
  const { unet } = openCheckpoint(DEMO_CHECKPOINT).config;
  const widths = [...new Set([...unet.blockOutChannels, unet.crossAttentionDim])].sort((a, b) => a - b);
  return { widths, layerStructure: [1, 2, 1], activation: 'relu', seed: 11, gain: 0.5 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: opts } = parseArgs({ options: { out: { type: 'string', default: DEMO_HYPERNETWORK } } });
  writeDemoHypernetwork(opts.out!, demoHypernetworkOptions());
  console.log(`wrote ${opts.out}`);
}
