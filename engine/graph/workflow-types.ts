// The UI ("workflow") format the editor saves, after schemas.ts has checked it and turned
// schema version 1 into the 0.4 shape (comfyui-api.md §5.2).

export type UiNodeId = number | string;

export interface UiInputSlot {
  name: string;
  type?: unknown;
  link: number | null;
  /** Set when a widget input was converted to a socket (§5.3 rule 4). */
  widget?: { name: string };
}

export interface UiOutputSlot {
  name?: string;
  type?: unknown;
  links?: number[] | null;
}

export interface UiNode {
  id: UiNodeId;
  type: string;
  title?: string;
  /** 0 always, 1 on event, 2 never (muted), 3 on trigger, 4 bypass. */
  mode?: number;
  inputs?: UiInputSlot[];
  outputs?: UiOutputSlot[];
  widgets_values?: unknown[] | Record<string, unknown>;
  [key: string]: unknown;
}

/** `[link_id, origin_node_id, origin_slot, target_node_id, target_slot, type]`. */
export type UiLink = [number, UiNodeId, number, UiNodeId, number, unknown];

export interface UiWorkflow {
  nodes: UiNode[];
  links: UiLink[];
  version?: number;
  [key: string]: unknown;
}

/** The workflow file itself is malformed (bad shape, dangling link ids, ...). One message per
 *  problem, each naming the node or link. */
export class WorkflowError extends Error {
  override name = 'WorkflowError';
  constructor(readonly problems: string[]) {
    super(`Invalid workflow: ${problems.join('; ')}`);
  }
}
