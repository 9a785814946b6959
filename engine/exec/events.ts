// What the executor reports, shaped exactly like ComfyUI's websocket JSON frames
// (comfyui-api.md §3.3) so the server can forward `{type, data}` as-is.

import type { PreviewFrame, UiOutput } from '../graph/index.ts';

export interface ExecutionStartData {
  prompt_id: string;
  timestamp: number;
}

export interface ExecutionCachedData {
  nodes: string[];
  prompt_id: string;
  timestamp: number;
}

/** `node: null` (without display_node) is the end-of-job frame; the host sends it after writing
 *  history (§3.3), so `execute` itself never emits it — see finishedEvent. */
export interface ExecutingData {
  node: string | null;
  display_node?: string;
  prompt_id: string;
}

export interface ProgressData {
  value: number;
  max: number;
  prompt_id: string;
  node: string;
}

export interface ExecutedData {
  node: string;
  display_node: string;
  /** null for an output node served from cache that never had UI output (§3.3). */
  output: UiOutput | null;
  prompt_id: string;
}

export interface ExecutionSuccessData {
  prompt_id: string;
  timestamp: number;
}

export interface ExecutionErrorData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  /** Always ends with "\n", as ComfyUI's. */
  exception_message: string;
  exception_type: string;
  traceback: string[];
  /** input name → list of values (primitives as-is, other values described in a short string). */
  current_inputs: Record<string, unknown[]>;
  current_outputs: string[];
  timestamp: number;
}

export interface ExecutionInterruptedData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  timestamp: number;
}

/** Not a JSON frame: the server turns it into a binary preview frame (§3.4). */
export interface PreviewData {
  node: string;
  display_node: string;
  prompt_id: string;
  frame: PreviewFrame;
}

export type ExecutionEvent =
  | { type: 'execution_start'; data: ExecutionStartData }
  | { type: 'execution_cached'; data: ExecutionCachedData }
  | { type: 'executing'; data: ExecutingData }
  | { type: 'progress'; data: ProgressData }
  | { type: 'executed'; data: ExecutedData }
  | { type: 'execution_success'; data: ExecutionSuccessData }
  | { type: 'execution_error'; data: ExecutionErrorData }
  | { type: 'execution_interrupted'; data: ExecutionInterruptedData }
  | { type: 'preview'; data: PreviewData };

/** An `execution_*` frame as ComfyUI records it in history `status.messages`: [type, data]. */
export type StatusMessage = [
  type: 'execution_start' | 'execution_cached' | 'execution_success' | 'execution_error' | 'execution_interrupted',
  data: ExecutionStartData | ExecutionCachedData | ExecutionSuccessData | ExecutionErrorData | ExecutionInterruptedData,
];

export interface ExecutionOutcome {
  status: 'success' | 'error' | 'interrupted';
  /** node id → UI output, including UI of cached nodes of this prompt (history `outputs`, §6.5). */
  outputs: Record<string, UiOutput>;
  messages: StatusMessage[];
  error?: ExecutionErrorData;
}

/** The frame that tells clients a job is over; send it after history is written (§3.3). */
export function finishedEvent(promptId: string): ExecutionEvent {
  return { type: 'executing', data: { node: null, prompt_id: promptId } };
}
