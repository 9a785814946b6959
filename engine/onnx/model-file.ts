// A built graph on disk: a folder with model.onnx and model.json. External initializers name their
// checkpoint by a path relative to model.json's `externalDataFolder` (the deepest folder holding every
// checkpoint used, real paths). onnxruntime ≥ 1.24 rejects absolute and `../` locations, and 1.30 also
// rejects symlinks that resolve out of the model folder (measured), so sessions load the model bytes
// with `model_external_initializers_file_folder_path` = that folder; weights stay memory-mapped.
import { mkdirSync, writeFileSync, rmSync, renameSync, existsSync, realpathSync, readFileSync } from 'node:fs';
import { join, resolve, relative, dirname, sep, isAbsolute } from 'node:path';
import type { GraphBuilder } from './graph-builder.ts';
import { encodeModel } from './onnx-proto.ts';
import { uniqueTempPath } from './temp-path.ts';

export const MODEL_FILE = 'model.onnx';
const SIDECAR = 'model.json';

export interface ModelSidecar {
  externalDataFolder: string | null;
  files: string[];
  /**
   * Bytes the weights take in a CPU session: every initializer at 4 bytes an element (fp16 weights are
   * cast to float32 at load), for memory budgets before onnxruntime's own figure is known.
   */
  weightBytes?: number;
}

function commonFolder(paths: string[]): string {
  let folder = dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(folder.endsWith(sep) ? folder : folder + sep))) folder = dirname(folder);
  return folder;
}

/** Saves the graph into `dir` (replaced atomically if present). Returns the path of model.onnx. */
export function saveModel(
  graph: GraphBuilder, dir: string, metadata?: Record<string, string>, extraFiles: Record<string, string> = {},
): string {
  const data = graph.toModelData(metadata);
  const real = new Map(graph.externalFiles().map((f) => [f, realpathSync(f)]));
  const folder = real.size > 0 ? commonFolder([...real.values()]) : null;
  for (const t of data.initializers) {
    if (t.data instanceof Uint8Array) continue;
    const file = real.get(t.data.location);
    if (!file || !folder) throw new Error(`initializer ${t.name}: unknown external file ${t.data.location}`);
    t.data = { ...t.data, location: relative(folder, file).split(sep).join('/') };
  }
  const weightBytes = data.initializers.reduce((sum, t) => sum + 4 * t.dims.reduce((a, b) => a * b, 1), 0);
  const sidecar: ModelSidecar = { externalDataFolder: folder, files: [...real.values()], weightBytes };
  const target = resolve(dir);
  const tmp = uniqueTempPath(target);
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, MODEL_FILE), encodeModel(data));
    writeFileSync(join(tmp, SIDECAR), JSON.stringify(sidecar, null, 1));
    for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(tmp, name), text);
    // Another process or worker thread may have published the same graph meanwhile (same key, same
    // bytes) and may be loading it now: keep theirs rather than pull it away from under them.
    const published = [MODEL_FILE, SIDECAR, ...Object.keys(extraFiles)].every((name) => existsSync(join(target, name)));
    if (published) {
      rmSync(tmp, { recursive: true, force: true });
      return join(target, MODEL_FILE);
    }
    if (existsSync(target)) rmSync(target, { recursive: true, force: true }); // an incomplete leftover
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return join(target, MODEL_FILE);
}

/** Reads model.json beside a model.onnx (null when the model has no sidecar, e.g. a plain ONNX file). */
export function readSidecar(modelPath: string): ModelSidecar | null {
  const path = join(dirname(modelPath), SIDECAR);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as ModelSidecar;
  if (parsed.externalDataFolder !== null && !isAbsolute(parsed.externalDataFolder)) throw new Error(`${path}: externalDataFolder must be absolute`);
  return parsed;
}
