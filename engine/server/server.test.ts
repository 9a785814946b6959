// engine/server on its own: an in-process backend, a one-node registry and a :memory: queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineNode, type NodeDefinition } from '../graph/index.ts';
import { openSqliteQueue } from '../queue/index.ts';
import { createInProcessBackend, startServer } from './index.ts';

const echo = defineNode({
  name: 'Echo',
  category: 'testing',
  description: 'Shows its text.',
  inputs: { required: { text: { kind: 'STRING', default: '' } } },
  outputs: [],
  outputNode: true,
  run: ({ text }) => ({ outputs: [], ui: { text: [text] } }),
});

test('a prompt runs through the in-process backend and its UI output reaches history', async () => {
  const root = mkdtempSync(join(tmpdir(), 'invgraph-engine-server-'));
  const folders = { models: join(root, 'm'), input: join(root, 'i'), output: join(root, 'o'), temp: join(root, 't') };
  const registry = new Map<string, NodeDefinition>([['Echo', echo as unknown as NodeDefinition]]);
  const queue = openSqliteQueue({ file: ':memory:' });
  const server = await startServer({
    host: '127.0.0.1', port: 0, folders, dataDir: root, registry, queue,
    backend: createInProcessBackend({ registry, env: { folders } }),
    log: () => {},
  });
  try {
    const res = await fetch(`${server.url}/api/prompt`, {
      method: 'POST',
      body: JSON.stringify({ prompt: { '1': { class_type: 'Echo', inputs: { text: 'hi' } } }, prompt_id: 'p' }),
    });
    assert.equal(res.status, 200);
    let entry: any;
    for (let i = 0; i < 100 && !entry; i++) {
      entry = ((await (await fetch(`${server.url}/history/p`)).json()) as Record<string, unknown>).p;
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(entry.outputs, { '1': { text: ['hi'] } });
    assert.equal(entry.status.status_str, 'success');
  } finally {
    await server.close();
    queue.close();
    rmSync(root, { recursive: true, force: true });
  }
});
