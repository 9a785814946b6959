// On-disk cache of built graphs: <cacheDir>/<name>-<hash>/model.onnx, keyed by the checkpoint's
// fingerprint plus the variant (network, options, builder version), so a second start skips building.
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphBuilder } from './graph-builder.ts';
import type { SafetensorsFile } from './safetensors.ts';
import { fileStamp } from './safetensors.ts';
import { saveModel, MODEL_FILE } from './model-file.ts';

/** Bump when the builder's output for the same network code changes (op lowering, encoding). */
export const BUILDER_VERSION = 'onnx-builder-2';

/**
 * Identity of a checkpoint file (choice): sha256 of its header bytes + file size + mtime + real path.
 * Cheap (no pass over the weights), changes when the file is replaced or moved (the graph points at it).
 */
export function checkpointFingerprint(file: SafetensorsFile): string {
  const { size, mtimeMs } = fileStamp(file.path);
  return createHash('sha256')
    .update(file.header)
    .update(`\n${size}\n${mtimeMs}\n${realpathSync(file.path)}`)
    .digest('hex');
}

export interface GraphKey {
  /** Short readable name, used in the folder name (e.g. 'clip-text'). */
  name: string;
  /** Fingerprints of every checkpoint the graph reads. */
  checkpoints: string[];
  /** Everything else that changes the graph: options, network version. */
  variant: Record<string, unknown>;
}

export function graphFolder(cacheDir: string, key: GraphKey): string {
  const text = JSON.stringify({ builder: BUILDER_VERSION, ...key });
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 20);
  return join(cacheDir, `${key.name.replace(/[^\w.-]/g, '_')}-${hash}`);
}

/** Returns the cached model for `key`, building and saving it first when absent. */
export function cachedModel(cacheDir: string, key: GraphKey, build: () => GraphBuilder): { path: string; built: boolean } {
  const dir = graphFolder(cacheDir, key);
  const path = join(dir, MODEL_FILE);
  if (existsSync(path) && existsSync(join(dir, 'key.json'))) return { path, built: false };
  const keyText = JSON.stringify({ builder: BUILDER_VERSION, ...key }, null, 1);
  // key.json lands together with model.onnx (saveModel renames a complete folder into place).
  return { path: saveModel(build(), dir, { invgraph_key: keyText }, { 'key.json': keyText }), built: true };
}
