// Which nodes run and in what order (comfyui-api.md §6.3, §6.7): staged from the requested
// outputs back through non-lazy links to nodes without usable outputs; ready nodes run first,
// output nodes preferred, else in staging order.

import { isLink, type NodeDefinition, type NodeRegistry, type ApiPrompt, type Link } from '../graph/index.ts';

export class DependencyCycleError extends Error {
  constructor(readonly nodeIds: readonly string[]) {
    super(`Dependency cycle detected: nodes ${nodeIds.join(', ')} each wait for another of them; remove the loop between them`);
    this.name = 'DependencyCycleError';
  }
}

export interface ScheduleSources {
  prompt: ApiPrompt;
  registry: NodeRegistry;
  /** Whether a node's outputs exist already (computed in this run or cached). */
  isAvailable(nodeId: string): boolean;
}

export interface ExecutionList {
  /** Stages a node and every upstream it cannot run without. Output nodes are added even when
   *  cached, so that their UI is reported. */
  add(nodeId: string): void;
  /** Makes a node wait for the named lazy inputs and stages their upstream nodes. */
  requestLazy(nodeId: string, inputNames: readonly string[]): void;
  /** The node to run next; throws DependencyCycleError when nothing staged can run. */
  next(): string;
  complete(nodeId: string): void;
  isEmpty(): boolean;
}

export function createExecutionList(sources: ScheduleSources): ExecutionList {
  const staged = new Set<string>();
  const requested = new Map<string, Set<string>>();
  const blockers = (nodeId: string): Link[] => blockingLinks(sources, nodeId, requested.get(nodeId));
  const stageMissing = (links: Link[]): void => {
    for (const [upstream] of links) if (!staged.has(upstream) && !sources.isAvailable(upstream)) add(upstream);
  };
  const add = (nodeId: string): void => {
    if (staged.has(nodeId)) return;
    if (!Object.hasOwn(sources.prompt, nodeId)) throw new Error(`node ${nodeId} is needed but is not in the prompt; check the links that point to it`);
    staged.add(nodeId);
    stageMissing(blockers(nodeId));
  };
  const isReady = (nodeId: string): boolean => blockers(nodeId).every(([upstream]) => sources.isAvailable(upstream));
  return {
    add,
    requestLazy(nodeId, inputNames) {
      const names = requested.get(nodeId) ?? new Set<string>();
      for (const name of inputNames) names.add(name);
      requested.set(nodeId, names);
      stageMissing(blockers(nodeId));
    },
    next() {
      const ready = [...staged].filter(isReady);
      if (ready.length === 0) throw new DependencyCycleError([...staged]);
      return ready.find((nodeId) => definitionOf(sources, nodeId)?.outputNode) ?? ready[0];
    },
    complete: (nodeId) => void staged.delete(nodeId),
    isEmpty: () => staged.size === 0,
  };
}

/** Links a node cannot run without: every non-lazy link, plus the lazy ones it asked for. */
function blockingLinks(sources: ScheduleSources, nodeId: string, requested: ReadonlySet<string> | undefined): Link[] {
  const node = sources.prompt[nodeId];
  const definition = definitionOf(sources, nodeId);
  const links: Link[] = [];
  for (const [name, value] of Object.entries(node.inputs)) {
    if (!isLink(value)) continue;
    if (isLazyInput(definition, name) && !requested?.has(name)) continue;
    links.push(value);
  }
  return links;
}

function definitionOf(sources: ScheduleSources, nodeId: string): NodeDefinition | undefined {
  return sources.registry.get(sources.prompt[nodeId].class_type);
}

export function isLazyInput(definition: NodeDefinition | undefined, name: string): boolean {
  const spec = definition?.inputs.required[name] ?? definition?.inputs.optional?.[name];
  return spec?.lazy === true;
}
