// Test helper: small fake nodes for the executor's own tests (style.md §6, §10). Each node
// records its calls in `calls` as "<class>#<node id>" so tests can see what ran.

import { defineNode, type NodeDefinition, type NodeRegistry } from '../../graph/index.ts';

export interface FakeNodes {
  registry: NodeRegistry;
  /** "<class>#<node id>" per run call, in order. */
  calls: string[];
  /** What the Fingerprinted node's fingerprint returns (like a file hash). */
  fileHash: { value: unknown };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createFakeNodes(): FakeNodes {
  const calls: string[] = [];
  const fileHash: { value: unknown } = { value: 'hash-1' };
  const record = (name: string, nodeId: string) => calls.push(`${name}#${nodeId}`);
  const nodes: NodeDefinition[] = [
    defineNode({
      name: 'Const', category: 'test', description: 'outputs its value',
      inputs: { required: { value: { kind: 'INT' } } },
      outputs: [{ type: 'INT' }],
      run: (inputs, ctx) => (record('Const', ctx.nodeId), { outputs: [inputs.value] }),
    }),
    defineNode({
      name: 'Scale', category: 'test', description: 'x times factor',
      inputs: { required: { x: { kind: 'LINK', type: 'INT' }, factor: { kind: 'INT' } } },
      outputs: [{ type: 'INT' }],
      run: (inputs, ctx) => (record('Scale', ctx.nodeId), { outputs: [Number(inputs.x) * inputs.factor] }),
    }),
    defineNode({
      name: 'Add', category: 'test', description: 'a + b',
      inputs: { required: { a: { kind: 'LINK', type: 'INT' }, b: { kind: 'LINK', type: 'INT' } } },
      outputs: [{ type: 'INT' }],
      run: async (inputs, ctx) => (record('Add', ctx.nodeId), { outputs: [Number(inputs.a) + Number(inputs.b)] }),
    }),
    defineNode({
      name: 'Show', category: 'test', description: 'output node with UI', outputNode: true,
      inputs: { required: { value: { kind: 'LINK', type: 'INT' } } },
      outputs: [],
      run: (inputs, ctx) => (record('Show', ctx.nodeId), { outputs: [], ui: { values: [inputs.value] } }),
    }),
    defineNode({
      name: 'Sink', category: 'test', description: 'output node without UI', outputNode: true,
      inputs: { required: { value: { kind: 'LINK', type: '*' } } },
      outputs: [],
      run: (_inputs, ctx) => (record('Sink', ctx.nodeId), { outputs: [] }),
    }),
    defineNode({
      name: 'Slow', category: 'test', description: 'steps with progress and small sleeps',
      inputs: { required: { steps: { kind: 'INT' } } },
      outputs: [{ type: 'INT' }],
      run: async (inputs, ctx) => {
        record('Slow', ctx.nodeId);
        for (let step = 1; step <= inputs.steps; step++) {
          ctx.throwIfInterrupted();
          await sleep(2);
          ctx.progress(step, inputs.steps, step === 1 ? { format: 'JPEG', data: new Uint8Array([1, 2]) } : undefined);
        }
        return { outputs: [inputs.steps] };
      },
    }),
    defineNode({
      name: 'WaitForAbort', category: 'test', description: 'awaits only ctx.signal',
      inputs: { required: {} },
      outputs: [{ type: 'INT' }],
      run: (_inputs, ctx) => {
        record('WaitForAbort', ctx.nodeId);
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new DOMException('The operation was aborted', 'AbortError')));
        });
      },
    }),
    defineNode({
      name: 'Boom', category: 'test', description: 'throws',
      inputs: { required: { x: { kind: 'LINK', type: 'INT' }, note: { kind: 'STRING' } } },
      outputs: [{ type: 'INT' }],
      run: (inputs, ctx) => {
        record('Boom', ctx.nodeId);
        throw new RangeError(`boom: x was ${String(inputs.x)}`);
      },
    }),
    defineNode({
      name: 'ThrowString', category: 'test', description: 'throws a non-Error value',
      inputs: { required: {} },
      outputs: [{ type: 'INT' }],
      run: (_inputs, ctx) => {
        record('ThrowString', ctx.nodeId);
        throw 'just a string'; // eslint-disable-line no-throw-literal
      },
    }),
    defineNode({
      name: 'Range', category: 'test', description: '0..count-1 as a list output',
      inputs: { required: { count: { kind: 'INT' } } },
      outputs: [{ type: 'INT', isList: true }],
      run: (inputs, ctx) => (record('Range', ctx.nodeId), { outputs: [Array.from({ length: inputs.count }, (_, i) => i)] }),
    }),
    defineNode({
      name: 'SumList', category: 'test', description: 'takes whole lists', inputIsList: true,
      inputs: { required: { values: { kind: 'LINK', type: 'INT' } } },
      outputs: [{ type: 'INT' }],
      run: (inputs, ctx) => {
        record('SumList', ctx.nodeId);
        const values = inputs.values as unknown as number[];
        return { outputs: [values.reduce((sum, v) => sum + v, 0)] };
      },
    }),
    defineNode({
      name: 'Switch', category: 'test', description: 'lazy: evaluates only the chosen branch',
      inputs: {
        required: {
          choose: { kind: 'BOOLEAN' },
          onTrue: { kind: 'LINK', type: 'INT', lazy: true },
          onFalse: { kind: 'LINK', type: 'INT', lazy: true },
        },
      },
      outputs: [{ type: 'INT' }],
      checkLazyStatus: (inputs) => [inputs.choose ? 'onTrue' : 'onFalse'],
      run: (inputs, ctx) => (record('Switch', ctx.nodeId), { outputs: [inputs.choose ? inputs.onTrue : inputs.onFalse] }),
    }),
    defineNode({
      name: 'Random', category: 'test', description: 'fingerprint NaN: always re-runs',
      inputs: { required: {} },
      outputs: [{ type: 'INT' }],
      fingerprint: () => Number.NaN,
      run: (_inputs, ctx) => (record('Random', ctx.nodeId), { outputs: [calls.length] }),
    }),
    defineNode({
      name: 'Fingerprinted', category: 'test', description: 'fingerprint from fileHash',
      inputs: { required: { file: { kind: 'STRING' } } },
      outputs: [{ type: 'INT' }],
      fingerprint: (inputs) => {
        if (fileHash.value instanceof Error) throw fileHash.value;
        return [inputs.file, fileHash.value];
      },
      run: (_inputs, ctx) => (record('Fingerprinted', ctx.nodeId), { outputs: [1] }),
    }),
    defineNode({
      name: 'SeedEcho', category: 'test', description: 'passes a bigint seed on',
      inputs: { required: { seed: { kind: 'SEED' } } },
      outputs: [{ type: 'INT' }],
      run: (inputs, ctx) => (record('SeedEcho', ctx.nodeId), { outputs: [inputs.seed] }),
    }),
    defineNode({
      name: 'HiddenProbe', category: 'test', description: 'reports its hidden inputs', outputNode: true,
      inputs: { required: {}, hidden: { prompt: 'PROMPT', png: 'EXTRA_PNGINFO', id: 'UNIQUE_ID' } },
      outputs: [],
      run: (inputs, ctx) => {
        record('HiddenProbe', ctx.nodeId);
        return { outputs: [], ui: { seen: [Object.keys(inputs.prompt).length, inputs.png ?? null, inputs.id] } };
      },
    }),
  ];
  return { registry: new Map(nodes.map((node) => [node.name, node])), calls, fileHash };
}
