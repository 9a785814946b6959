// The API ("prompt") format of comfyui-api.md §5.1 as TypeScript types, after parsing.
// Integers beyond 2^53 arrive as bigint (see json.ts), so seeds keep their exact value.

/** A link: [source node id, output slot]. */
export type Link = [string, number];

export type PromptInputValue = string | number | bigint | boolean | null | Link | { __value__: unknown[] } | Record<string, unknown>;

export interface PromptNode {
  class_type: string;
  inputs: Record<string, PromptInputValue>;
  _meta?: { title?: string };
}

/** node id → node. */
export type ApiPrompt = Record<string, PromptNode>;

export function isLink(value: unknown): value is Link {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number' && Number.isInteger(value[1]);
}
