// Fast fake nodes for the server integration tests, loaded into the execution worker through
// serve({registryModule}). FakeWork busy-loops synchronously, like a blocking ONNX run.

import { appendFileSync, existsSync } from 'node:fs';
import { defineNode, type NodeDefinition, type NodeRegistry } from '../../engine/graph/index.ts';
import { resolveInside } from '../../engine/files/index.ts';

/** A tiny byte string standing in for an encoded JPEG preview. */
export const PREVIEW_BYTES = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

const fakeNumber = defineNode({
  name: 'FakeNumber',
  category: 'testing',
  description: 'Outputs its value.',
  inputs: {
    required: { value: { kind: 'INT', default: 0, min: -1_000_000, max: 1_000_000 } },
    optional: { mode: { kind: 'COMBO', options: ['plain', 'double'], default: 'plain' }, seed: { kind: 'SEED', default: 0 } },
  },
  outputs: [{ type: 'INT' }],
  run: ({ value, mode }) => ({ outputs: [mode === 'double' ? value * 2 : value] }),
});

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin: the worker's event loop is blocked, as during onnxruntime's synchronous run
  }
}

const fakeWork = defineNode({
  name: 'FakeWork',
  category: 'testing',
  description: 'Busy-loops `ms` milliseconds in `steps` blocking slices (each on a fresh macrotask), reporting progress between them.',
  inputs: {
    required: {
      value: { kind: 'LINK', type: 'INT' },
      ms: { kind: 'INT', default: 0, min: 0, max: 60_000 },
      steps: { kind: 'INT', default: 1, min: 1, max: 1000 },
    },
    // until_file: the work ends early once output/<until_file> exists (a test holds a worker busy
    // exactly as long as it needs, whatever the machine's speed).
    optional: { preview: { kind: 'BOOLEAN', default: false }, until_file: { kind: 'STRING', default: '' } },
  },
  outputs: [{ type: 'INT' }],
  run: async ({ value, ms, steps, preview, until_file }, ctx) => {
    const released = () => Boolean(until_file) && existsSync(resolveInside(ctx.folders.output, until_file!));
    for (let step = 1; step <= steps; step++) {
      // Each slice starts on a fresh macrotask, as onnxruntime-node's run does (setImmediate): the
      // host's interrupt message is read between slices.
      await new Promise((resolve) => setImmediate(resolve));
      if (!released()) busyWait(ms / steps);
      ctx.progress(step, steps, preview ? { format: 'JPEG', data: PREVIEW_BYTES } : undefined);
    }
    return { outputs: [(value as number) + 1] };
  },
});

const fakeSave = defineNode({
  name: 'FakeSave',
  category: 'testing',
  description: 'Appends a line to output/<tag>.txt (so a double run shows) and reports it as an image output.',
  inputs: { required: { value: { kind: 'LINK', type: 'INT' }, tag: { kind: 'STRING', default: 'out' } } },
  outputs: [],
  outputNode: true,
  run: ({ value, tag }, ctx) => {
    const filename = `${tag}.txt`;
    appendFileSync(resolveInside(ctx.folders.output, filename), `${String(value)}\n`);
    return { outputs: [], ui: { images: [{ filename, subfolder: '', type: 'output' }] } };
  },
});

const fakeFail = defineNode({
  name: 'FakeFail',
  category: 'testing',
  description: 'Throws its message.',
  inputs: { required: { value: { kind: 'LINK', type: 'INT' }, message: { kind: 'STRING', default: 'boom' } } },
  outputs: [{ type: 'INT' }],
  run: ({ message }) => {
    throw new Error(message);
  },
});

const fakeCrash = defineNode({
  name: 'FakeCrash',
  category: 'testing',
  description: 'Ends the execution process abruptly, like a native crash.',
  inputs: { required: { value: { kind: 'LINK', type: 'INT' } } },
  outputs: [{ type: 'INT' }],
  run: () => process.exit(7),
});

/** What FakeHog keeps: memory a failed job left behind in the process (as a native library's buffers would). */
const hogged: Buffer[] = [];

const fakeHog = defineNode({
  name: 'FakeHog',
  category: 'testing',
  description: 'Fills `mb` megabytes it never frees (memory a failed job leaves behind), then throws.',
  inputs: { required: { value: { kind: 'LINK', type: 'INT' }, mb: { kind: 'INT', default: 100, min: 1, max: 4096 } } },
  outputs: [{ type: 'INT' }],
  run: ({ mb }) => {
    // Filled with non-zero bytes so every page is resident (untouched pages would not count).
    hogged.push(Buffer.alloc(mb * 2 ** 20, 1));
    throw new Error(`failed after taking ${mb} MB`);
  },
});

const fakeImageProgress = defineNode({
  name: 'FakeImageProgress',
  category: 'testing',
  description: 'Passes an IMAGE through, reporting `steps` progress updates (for client progress tests).',
  inputs: { required: { image: { kind: 'LINK', type: 'IMAGE' }, steps: { kind: 'INT', default: 3, min: 1, max: 100 } } },
  outputs: [{ type: 'IMAGE' }],
  run: ({ image, steps }, ctx) => {
    for (let step = 1; step <= steps; step++) ctx.progress(step, steps);
    return { outputs: [image] };
  },
});

export const fakeNodes: NodeDefinition[] = [fakeNumber, fakeWork, fakeSave, fakeFail, fakeCrash, fakeImageProgress, fakeHog] as unknown as NodeDefinition[];
const nodes = fakeNodes.filter((node) => node.name !== 'FakeImageProgress' && node.name !== 'FakeHog');

export function createRegistry(): NodeRegistry {
  return new Map(nodes.map((node) => [node.name, node]));
}
