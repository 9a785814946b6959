// Server-side UI workflow → API prompt: the workflow's shape is checked (schemas.ts), then the
// shared conversion (workflow-convert.ts, also bundled into the editor) runs with this server's
// node definitions seen as /object_info entries.
import type { DefinitionEnv, NodeRegistry } from './node-definition.ts';
import { nodeInfo, type NodeInfo } from './object-info.ts';
import type { ApiPrompt } from './prompt-types.ts';
import { checkPromptShape, parseWorkflow } from './schemas.ts';
import { convertWorkflow, type Conversion, type NodeInfoLookup } from './workflow-convert.ts';
import { WorkflowError } from './workflow-types.ts';

/** Node definitions as /object_info entries, built once per class. Without `env` lists that
 *  come from the folders (model files, input images) are empty, so such a widget saved without
 *  a value stays without one and validation names it. */
export function registryLookup(registry: NodeRegistry, env?: DefinitionEnv): NodeInfoLookup {
  const cache = new Map<string, NodeInfo | undefined>();
  return (classType) => {
    if (!cache.has(classType)) {
      const definition = registry.get(classType);
      cache.set(classType, definition ? nodeInfo(definition, env) : undefined);
    }
    return cache.get(classType);
  };
}

/** Converts a UI workflow (version 0.4 or 1) and says what it had to drop. Throws
 *  WorkflowError when the file is malformed. */
export function convertUiWorkflow(workflow: unknown, registry: NodeRegistry, env?: DefinitionEnv): Conversion {
  return convertWorkflow(parseWorkflow(workflow), registryLookup(registry, env));
}

/** Converts a UI workflow (version 0.4 or 1) into the API prompt the executor runs. Throws
 *  WorkflowError when the file is malformed. */
export function workflowToPrompt(workflow: unknown, registry: NodeRegistry, env?: DefinitionEnv): ApiPrompt {
  return convertUiWorkflow(workflow, registry, env).prompt;
}

/** 'ui' for an editor workflow (it has a `nodes` array), else 'api'. */
export function detectWorkflowFormat(json: unknown): 'api' | 'ui' {
  const isUi = typeof json === 'object' && json !== null && !Array.isArray(json) && Array.isArray((json as { nodes?: unknown }).nodes);
  return isUi ? 'ui' : 'api';
}

/** Reads either format into an API prompt; an API prompt is only shape-checked here
 *  (validatePrompt does the rest). Throws WorkflowError on a malformed document. */
export function loadWorkflow(json: unknown, registry: NodeRegistry, env?: DefinitionEnv): ApiPrompt {
  return loadWorkflowWithWarnings(json, registry, env).prompt;
}

/** loadWorkflow, plus the conversion's warnings (none for an API prompt). */
export function loadWorkflowWithWarnings(json: unknown, registry: NodeRegistry, env?: DefinitionEnv): Conversion {
  if (detectWorkflowFormat(json) === 'ui') return convertUiWorkflow(json, registry, env);
  const problems = checkPromptShape(json);
  if (problems.length > 0) throw new WorkflowError(problems);
  return { prompt: json as ApiPrompt, warnings: [] };
}
