// docs/nodes.md is generated from the node definitions; this keeps it in step with the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeReference } from '../cli/node-docs.ts';
import { createRegistry } from '../nodes/index.ts';

test('docs/nodes.md documents every node exactly as defined (regenerate with cli/node-docs.ts)', () => {
  const committed = readFileSync(new URL('../docs/nodes.md', import.meta.url), 'utf8');
  assert.equal(committed, nodeReference(createRegistry()));
});
