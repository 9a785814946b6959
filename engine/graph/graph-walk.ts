// Walks an API prompt's links without recursion: ancestors of a node, and dependency cycles
// (ComfyUI has no explicit cycle check; comfyui-api.md §6.2 asks for one).
import type { ApiPrompt } from './prompt-types.ts';

/** Ids of the nodes a node takes links from (only well-formed links to nodes that exist). */
export function linkSources(prompt: ApiPrompt, id: string): string[] {
  const sources: string[] = [];
  for (const value of Object.values(prompt[id]?.inputs ?? {})) {
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && Object.hasOwn(prompt, value[0])) {
      sources.push(value[0]);
    }
  }
  return sources;
}

/** The node and everything upstream of it. */
export function ancestorsOf(prompt: ApiPrompt, id: string): Set<string> {
  const seen = new Set([id]);
  const pending = [id];
  while (pending.length > 0) {
    for (const source of linkSources(prompt, pending.pop()!)) {
      if (!seen.has(source)) {
        seen.add(source);
        pending.push(source);
      }
    }
  }
  return seen;
}

interface Frame {
  id: string;
  sources: string[];
  next: number;
}

/** Depth-first search from the roots; every node on a cycle found gets a message naming the
 *  cycle. Every cycle contains a back edge of the search, so every cycle gets marked. */
export function findCycles(prompt: ApiPrompt, roots: readonly string[], describe: (id: string) => string): Map<string, string> {
  const onStackOrDone = new Map<string, 'stack' | 'done'>();
  const cycles = new Map<string, string>();
  for (const root of roots) {
    if (onStackOrDone.has(root)) continue;
    const stack: Frame[] = [{ id: root, sources: linkSources(prompt, root), next: 0 }];
    onStackOrDone.set(root, 'stack');
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next >= top.sources.length) {
        onStackOrDone.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const source = top.sources[top.next++];
      const state = onStackOrDone.get(source);
      if (state === 'stack') {
        const cycle = stack.slice(stack.findIndex((f) => f.id === source)).map((f) => f.id);
        const message = cycleMessage([...cycle, source], describe);
        for (const id of cycle) if (!cycles.has(id)) cycles.set(id, message);
      } else if (state === undefined) {
        onStackOrDone.set(source, 'stack');
        stack.push({ id: source, sources: linkSources(prompt, source), next: 0 });
      }
    }
  }
  return cycles;
}

function cycleMessage(path: string[], describe: (id: string) => string): string {
  const chain = path.map(describe).join(' takes input from ');
  return `Dependency cycle detected: ${chain}. Remove one of these links.`;
}
