// Inputs a prompt sets that its node does not declare: ComfyUI ignores them silently, so a typo
// (`stepz`) runs with the default. We name them, with the declared input they most likely meant.
import { didYouMean } from './did-you-mean.ts';
import type { NodeRegistry } from './node-definition.ts';
import type { ApiPrompt } from './prompt-types.ts';

export interface UnknownInput {
  nodeId: string;
  classType: string;
  input: string;
  /** One sentence for a log, a CLI error or an API warning. */
  message: string;
}

export function unknownInputs(prompt: ApiPrompt, registry: NodeRegistry): UnknownInput[] {
  const found: UnknownInput[] = [];
  for (const [nodeId, node] of Object.entries(prompt)) {
    const definition = registry.get(node.class_type);
    if (!definition || typeof node.inputs !== 'object' || node.inputs === null) continue;
    const declared = Object.keys({ ...definition.inputs.required, ...definition.inputs.optional });
    for (const input of Object.keys(node.inputs)) {
      if (declared.includes(input)) continue;
      found.push({
        nodeId,
        classType: node.class_type,
        input,
        message: `node ${nodeId} (${node.class_type}) has no input "${input}"${didYouMean(input, declared)}; it is ignored`,
      });
    }
  }
  return found;
}
