// What one prompt may ask of the server (issue #12 item 3c): a valid prompt can still ask for
// hours inside one onnxruntime call (txt2img at 4096×4096), so the server caps, per node that will
// run, the pixels of one image (`width` × `height`), the pixels of a batch (× `batch_size`) and
// `steps`. The inputs are found by ComfyUI's own input names, so every node that uses them (empty
// latents, image scaling, samplers, custom nodes alike) is covered. Values wired from other nodes
// are not known before the run; image sizes that come from files are bounded when decoded.
import { ancestorsOf } from './graph-walk.ts';
import type { NodeErrors } from './validate.ts';
import type { ApiPrompt } from './prompt-types.ts';

export interface PromptLimits {
  /** width × height of one image; 0 = no limit. */
  maxImagePixels: number;
  /** width × height × batch_size; 0 = no limit. */
  maxBatchPixels: number;
  /** steps of one sampler node; 0 = no limit. */
  maxSteps: number;
}

/** Generous for SD 1.5 (its native 512² is 1/16 of the pixel cap) yet far below the hours-long asks. */
export const DEFAULT_PROMPT_LIMITS: PromptLimits = {
  maxImagePixels: 2048 * 2048,
  maxBatchPixels: 16 * 1024 * 1024,
  maxSteps: 1000,
};

const literalInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? value : typeof value === 'bigint' ? Number(value) : undefined;

/** Node errors (ComfyUI's node_errors shape) for every node of `outputs`' ancestry that asks for
 *  more than `limits`; empty when the prompt is within them. */
export function promptLimitErrors(prompt: ApiPrompt, outputs: readonly string[], limits: PromptLimits): NodeErrors {
  const owners = new Map<string, Set<string>>();
  for (const output of outputs) {
    for (const id of [output, ...ancestorsOf(prompt, output)]) {
      if (!owners.has(id)) owners.set(id, new Set());
      owners.get(id)!.add(output);
    }
  }
  const errors: NodeErrors = {};
  for (const [id, dependents] of owners) {
    const node = prompt[id];
    if (!node) continue;
    const found = nodeProblems(node.inputs, limits);
    if (found.length === 0) continue;
    errors[id] = {
      errors: found.map(({ input, value, limit, message }) => ({
        type: 'value_exceeds_server_limit',
        message,
        details: `${input}, ${value}, limit ${limit}`,
        extra_info: { input_name: input, received_value: value, limit },
      })),
      dependent_outputs: [...dependents],
      class_type: node.class_type,
    };
  }
  return errors;
}

interface Problem {
  input: string;
  value: number;
  limit: number;
  message: string;
}

function nodeProblems(inputs: Record<string, unknown>, limits: PromptLimits): Problem[] {
  const problems: Problem[] = [];
  const width = literalInt(inputs.width);
  const height = literalInt(inputs.height);
  const batch = literalInt(inputs.batch_size) ?? 1;
  const steps = literalInt(inputs.steps);
  if (width !== undefined && height !== undefined) {
    const pixels = width * height;
    if (limits.maxImagePixels > 0 && pixels > limits.maxImagePixels) {
      problems.push({
        input: 'width',
        value: pixels,
        limit: limits.maxImagePixels,
        message: `${width}x${height} is ${pixels} pixels, more than this server allows per image (${limits.maxImagePixels}); use a smaller size, or start the server with a larger --max-image-pixels`,
      });
    } else if (limits.maxBatchPixels > 0 && pixels * batch > limits.maxBatchPixels) {
      problems.push({
        input: 'batch_size',
        value: pixels * batch,
        limit: limits.maxBatchPixels,
        message: `a batch of ${batch} at ${width}x${height} is ${pixels * batch} pixels, more than this server allows per batch (${limits.maxBatchPixels}); use a smaller batch_size, or start the server with a larger --max-batch-pixels`,
      });
    }
  }
  if (steps !== undefined && limits.maxSteps > 0 && steps > limits.maxSteps) {
    problems.push({
      input: 'steps',
      value: steps,
      limit: limits.maxSteps,
      message: `${steps} steps is more than this server allows (${limits.maxSteps}); use fewer steps, or start the server with a larger --max-steps`,
    });
  }
  return problems;
}
