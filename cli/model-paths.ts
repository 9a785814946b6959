// Model settings shared by `run` and `serve`. Which extra_model_paths.yaml a command reads: the one named by --extra-model-paths, else
// ./extra_model_paths.yaml when there is one (ComfyUI reads the file beside its main.py; ours is the
// working folder the server or run starts in).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readExtraModelPaths } from '../engine/files/index.ts';
import type { ModelPaths } from '../engine/files/index.ts';
import { MAX_DECODE_PIXELS_ENV } from '../engine/image/index.ts';
import { previewMethodFromEnv } from '../nodes/latent-previewer.ts';

/**
 * `--memory-budget GB`: the weight memory the model sessions may hold; passed to the execution worker as
 * INVGRAPH_MEMORY_BUDGET_GB (nodes/services.ts reads it there).
 */
export function applyMemoryBudget(flag: string | undefined): void {
  if (flag === undefined) return;
  const gb = Number(flag);
  if (!(gb > 0)) throw new Error(`--memory-budget ${flag}: give a positive number of GB, e.g. --memory-budget 8`);
  process.env.INVGRAPH_MEMORY_BUDGET_GB = String(gb);
}

/** --max-decode-pixels: the largest image (all frames) any node decodes, for this process and its
 *  execution processes (engine/image/decode.ts reads the environment, which they inherit). */
export function applyMaxDecodePixels(flag: string | undefined): void {
  if (flag === undefined) return;
  const pixels = Number(flag);
  if (!Number.isSafeInteger(pixels) || pixels < 1) throw new Error(`--max-decode-pixels must be a positive integer, got "${flag}"`);
  process.env[MAX_DECODE_PIXELS_ENV] = String(pixels);
}

/** --preview-method auto|latent2rgb|taesd|none: the samplers' live previews (nodes/latent-previewer.ts), for this
 *  process and its execution processes (INVGRAPH_PREVIEW_METHOD). */
export function applyPreviewMethod(flag: string | undefined): void {
  if (flag === undefined) return;
  previewMethodFromEnv({ INVGRAPH_PREVIEW_METHOD: flag }); // refuses unknown names
  process.env.INVGRAPH_PREVIEW_METHOD = flag;
}

export const DEFAULT_EXTRA_MODEL_PATHS = 'extra_model_paths.yaml';

export function loadExtraModelPaths(flag: string | undefined): ModelPaths | undefined {
  if (flag !== undefined) {
    const file = resolve(flag);
    if (!existsSync(file)) throw new Error(`--extra-model-paths ${flag}: no such file (${file})`);
    return readExtraModelPaths(file);
  }
  const file = resolve(DEFAULT_EXTRA_MODEL_PATHS);
  return existsSync(file) ? readExtraModelPaths(file) : undefined;
}
