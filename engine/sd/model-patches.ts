// Which patches a MODEL applies and in what order (model-patch.ts is the contract): first its LoRA stack (part of
// the checkpoint's weights, lora/lora-patch.ts), then SdModel.patches in the order the nodes added them
// (EAAInject, …). The sampler adds the conditionings' ControlNet patch after these (guided-unet.ts).
import type { SdModel } from './wire-types.ts';
import type { ModelPatch, PreparedPatch } from './model-patch.ts';
import { combinePatches } from './model-patch.ts';
import { loraPatch } from './lora/lora-patch.ts';
import { modelSchedule } from './model-sampling.ts';

/** The model's patches, in application order. */
export function modelPatches(model: SdModel): ModelPatch[] {
  const lora = loraPatch(model.checkpoint);
  return [...(lora ? [lora] : []), ...(model.patches ?? [])];
}

/** Every patch of the model prepared for one run, each as its own PreparedPatch (in order). */
export function prepareModelPatches(model: SdModel, log?: (message: string) => void): PreparedPatch[] {
  const run = { checkpoint: model.checkpoint, schedule: modelSchedule(model), log };
  return modelPatches(model).map((patch) => patch.prepare(run));
}

/** The model's patches prepared and composed into one (graph additions and feeds of all of them). */
export function prepareModelPatch(model: SdModel, log?: (message: string) => void): PreparedPatch {
  return combinePatches(prepareModelPatches(model, log));
}
