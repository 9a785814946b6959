// What the editor reads from GET /object_info (comfyui-api.md §4): the input rules live in
// engine/graph/node-inputs.ts, shared with the server's UI → API conversion.
import type { NodeInfo } from '../../engine/graph/index.ts';

export type { NodeInfo };
export type ObjectInfo = Record<string, NodeInfo>;
export { inputEntries, widgetEntries, widgetDefault, type InputEntry, type InputOptions, type WidgetKind } from '../../engine/graph/node-inputs.ts';
