// The shipped-workflow routes: listing without API twins, serving by name, refusing paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { workflowsRoute } from './workflows-route.ts';

async function withServer(files: Record<string, string>, check: (url: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-workflows-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const app = express();
  app.use('/api', workflowsRoute(dir));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api`);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('lists UI workflows by name, without API twins or other files', async () => {
  await withServer({ 'b.json': '{}', 'a.json': '{}', 'a.api.json': '{}', 'notes.txt': 'x' }, async (url) => {
    const listing = await (await fetch(`${url}/workflow_templates`)).json();
    assert.deepEqual(listing, { invgraph: ['a', 'b'] });
  });
});

test('serves a workflow file and refuses unknown modules, traversal and missing files', async () => {
  await withServer({ 'a.json': '{"nodes":[]}' }, async (url) => {
    const ok = await fetch(`${url}/workflow_templates/invgraph/a.json`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { nodes: [] });
    assert.equal((await fetch(`${url}/workflow_templates/other/a.json`)).status, 404);
    assert.equal((await fetch(`${url}/workflow_templates/invgraph/..%2Fa.json`)).status, 404);
    assert.equal((await fetch(`${url}/workflow_templates/invgraph/missing.json`)).status, 404);
  });
});
