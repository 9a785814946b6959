// Every node invgraph offers, in one list (style.md §5: no registering on import).
import type { NodeDefinition, NodeRegistry } from '../engine/graph/index.ts';
import { imageNodes } from './image.ts';
import { loaderNodes } from './loaders.ts';
import { conditioningNodes } from './conditioning.ts';
import { latentNodes } from './latent.ts';
import { latentOpNodes } from './latent-ops.ts';
import { maskNodes } from './mask.ts';
import { inpaintNodes } from './inpaint.ts';
import { conditioningOpNodes } from './conditioning-ops.ts';
import { samplingNodes } from './sampling.ts';
import { samplingCustomNodes } from './sampling-custom.ts';
import { faceNodes } from './face.ts';
import { invAdapterNodes } from './inv-adapter.ts';
import { controlnetNodes } from './controlnet.ts';
import { modelMergeNodes } from './model-merge.ts';
import { conditioningAreaNodes } from './conditioning-area.ts';
import { modelSamplingNodes } from './model-sampling.ts';
import { upscaleNodes } from './upscale.ts';
import { gligenNodes } from './gligen.ts';
import { hypernetworkNodes } from './hypernetwork.ts';

const allNodes: readonly NodeDefinition[] = [...loaderNodes, ...conditioningNodes, ...conditioningOpNodes, ...conditioningAreaNodes, ...samplingNodes, ...samplingCustomNodes, ...modelSamplingNodes, ...latentNodes, ...latentOpNodes, ...maskNodes, ...inpaintNodes, ...imageNodes, ...upscaleNodes, ...faceNodes, ...invAdapterNodes, ...controlnetNodes, ...gligenNodes, ...hypernetworkNodes, ...modelMergeNodes];

export function createRegistry(): NodeRegistry {
  const registry = new Map<string, NodeDefinition>();
  for (const node of allNodes) {
    if (registry.has(node.name)) throw new Error(`node class "${node.name}" is defined twice`);
    registry.set(node.name, node);
  }
  return registry;
}
