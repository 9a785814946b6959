// Public surface of engine/graph: node definitions, the prompt and workflow formats, lossless
// JSON, /object_info, UI→API conversion and ComfyUI-compatible prompt validation.
export * from './node-definition.ts';
export * from './prompt-types.ts';
export { parseJson, stringifyJson, JsonInputError, DEFAULT_MAX_JSON_BYTES, type ParseJsonOptions } from './json.ts';
export { objectInfo, objectInfoFor, nodeInfo, inputConfig, inputTypeName, comboOptions, SEED_MAX, type NodeInfo, type InputConfig } from './object-info.ts';
export {
  checkPromptShape, parseWorkflow, findLimitProblem, promptSchema, workflowSchema, workflowV1Schema,
  DEFAULT_MAX_STRING_LENGTH, DEFAULT_MAX_DEPTH, type ShapeLimits,
} from './schemas.ts';
export { WorkflowError, type UiWorkflow, type UiNode, type UiLink, type UiInputSlot, type UiOutputSlot, type UiNodeId } from './workflow-types.ts';
export { workflowToPrompt, convertUiWorkflow, registryLookup, detectWorkflowFormat, loadWorkflow, loadWorkflowWithWarnings } from './workflow-to-prompt.ts';
export { convertWorkflow, socketTypesMatch, type Conversion, type NodeInfoLookup } from './workflow-convert.ts';
export { setWorkflowInput } from './workflow-set-input.ts';
export { expandWorkflow, hasNestedNodes, MAX_EXPANDED_NODES } from './workflow-expand.ts';
export { inputEntries, widgetEntries, widgetDefault, type InputEntry, type InputOptions, type WidgetKind } from './node-inputs.ts';
export { closestName, didYouMean, editDistance } from './did-you-mean.ts';
export { unknownInputs, type UnknownInput } from './unknown-inputs.ts';
export { validatePrompt, typesMatch, type ValidationResult, type ValidationError, type NodeErrors, type NodeErrorEntry, type ValidateOptions } from './validate.ts';
export { promptLimitErrors, DEFAULT_PROMPT_LIMITS, type PromptLimits } from './prompt-limits.ts';
