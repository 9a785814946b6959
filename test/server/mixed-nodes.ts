// The real node registry plus the fake nodes, for client tests that need real images and progress.
import type { NodeRegistry } from '../../engine/graph/index.ts';
import { createRegistry as createRealRegistry } from '../../nodes/index.ts';
import { fakeNodes } from './fake-nodes.ts';

export function createRegistry(): NodeRegistry {
  const registry = new Map(createRealRegistry());
  for (const node of fakeNodes) registry.set(node.name, node);
  return registry;
}
