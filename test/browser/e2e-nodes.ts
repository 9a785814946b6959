// Node registry for the browser tests: every real node, plus TestProgress, a pass-through
// IMAGE node that reports progress with a live JPEG preview each step (as a sampler does).
import sharp from 'sharp';
import { defineNode, type NodeDefinition, type NodeRegistry } from '../../engine/graph/index.ts';
import { createRegistry as createRealRegistry } from '../../nodes/index.ts';

let previewJpeg: Uint8Array | undefined;

async function preview(): Promise<Uint8Array> {
  previewJpeg ??= new Uint8Array(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#e0609a' } }).jpeg().toBuffer());
  return previewJpeg;
}

const testProgress = defineNode({
  name: 'TestProgress',
  displayName: 'Test Progress',
  category: 'testing',
  description: 'Passes its image through in `steps` steps of `ms` milliseconds, with a preview each step; `seed` is unused.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      steps: { kind: 'INT', default: 4, min: 1, max: 100 },
      ms: { kind: 'INT', default: 150, min: 0, max: 5000 },
      seed: { kind: 'SEED', default: 0 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run: async ({ image, steps, ms }, ctx) => {
    const jpeg = await preview();
    for (let step = 1; step <= steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      ctx.throwIfInterrupted();
      ctx.progress(step, steps, { format: 'JPEG', data: jpeg });
    }
    return { outputs: [image] };
  },
});

export function createRegistry(): NodeRegistry {
  return new Map([...createRealRegistry(), [testProgress.name, testProgress as unknown as NodeDefinition]]);
}
