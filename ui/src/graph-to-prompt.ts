// The editor's UI workflow → API prompt conversion: the server's own pure module
// (engine/graph/workflow-convert.ts, bundled by esbuild), fed with /object_info.
import type { ApiPrompt, UiWorkflow } from '../../engine/graph/index.ts';
import { convertWorkflow, type Conversion } from '../../engine/graph/workflow-convert.ts';
import type { ObjectInfo } from './node-info.ts';

/** Converts a saved (0.4) workflow into the prompt POST /prompt runs, with the warnings. */
export function convertGraph(workflow: UiWorkflow, objectInfo: ObjectInfo): Conversion {
  return convertWorkflow({ ...workflow, links: workflow.links ?? [] }, (type) => (Object.hasOwn(objectInfo, type) ? objectInfo[type] : undefined));
}

/** Converts a saved (0.4) workflow into the prompt POST /prompt runs. */
export function graphToPrompt(workflow: UiWorkflow, objectInfo: ObjectInfo): ApiPrompt {
  return convertGraph(workflow, objectInfo).prompt;
}
