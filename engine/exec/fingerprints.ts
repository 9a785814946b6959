// Signatures of every node of a prompt (comfyui-api.md §6.5, §6.6): each node's fingerprint is
// called once per prompt with its constant inputs (reachable or not); a failure counts as NaN.

import { isLink, type DefinitionEnv, type NodeRegistry, type ApiPrompt } from '../graph/index.ts';
import { computeSignatures, type Signatures } from './cache-key.ts';
import { describeError } from './errors.ts';

export interface SignatureSetup {
  prompt: ApiPrompt;
  registry: NodeRegistry;
  env: DefinitionEnv;
  log(message: string): void;
}

export async function signaturesForPrompt(setup: SignatureSetup): Promise<Signatures> {
  const fingerprints = await fingerprintNodes(setup);
  const idBoundNodes = new Set(
    Object.keys(setup.prompt).filter((nodeId) => {
      const hidden = setup.registry.get(setup.prompt[nodeId].class_type)?.inputs.hidden ?? {};
      return Object.values(hidden).includes('UNIQUE_ID');
    }),
  );
  return computeSignatures({ prompt: setup.prompt, fingerprints, idBoundNodes });
}

async function fingerprintNodes(setup: SignatureSetup): Promise<Map<string, unknown>> {
  const fingerprints = new Map<string, unknown>();
  const pending = Object.entries(setup.prompt).map(async ([nodeId, node]) => {
    const definition = setup.registry.get(node.class_type);
    if (!definition?.fingerprint) return;
    const declared = { ...definition.inputs.required, ...definition.inputs.optional };
    const constants: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(node.inputs)) {
      if (Object.hasOwn(declared, name) && !isLink(value)) constants[name] = value;
    }
    try {
      fingerprints.set(nodeId, await definition.fingerprint(constants, setup.env));
    } catch (error) {
      const described = describeError(error);
      setup.log(`fingerprint of node ${nodeId} (${node.class_type}) failed, so it will re-run: ${described.type}: ${described.message.trim()}`);
      fingerprints.set(nodeId, Number.NaN);
    }
  });
  await Promise.all(pending);
  return fingerprints;
}
