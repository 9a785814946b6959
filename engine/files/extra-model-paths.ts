// ComfyUI's `extra_model_paths.yaml`: more folders per model type, to share models with a ComfyUI or
// A1111 install. Each top-level section has an optional `base_path` (relative to the yaml's folder) and
// `<type>: <path>` entries, where a value may list several paths, one per line, relative to base_path.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Extra folders per model type (`checkpoints`, `loras`, `vae`, `controlnet`, ...), in search order. */
export type ModelPaths = Readonly<Record<string, readonly string[]>>;

export class ExtraModelPathsError extends Error {}

/** Keys of a section that are settings, not model types. */
const SETTINGS = new Set(['base_path', 'is_default']);

/** Reads an extra_model_paths.yaml; errors name the file and the entry. */
export function readExtraModelPaths(file: string): ModelPaths {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ExtraModelPathsError(`${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ExtraModelPathsError(`${file}: expected sections such as "comfyui:" with model types below them`);
  const paths: Record<string, string[]> = {};
  for (const [section, body] of Object.entries(doc as Record<string, unknown>)) {
    if (body === null) continue;
    if (typeof body !== 'object' || Array.isArray(body)) throw new ExtraModelPathsError(`${file}: section "${section}" must map model types to folders`);
    const entries = body as Record<string, unknown>;
    const basePath = entries.base_path;
    if (basePath !== undefined && typeof basePath !== 'string') throw new ExtraModelPathsError(`${file}: ${section}.base_path must be a path`);
    const base = resolve(dirname(file), basePath ?? '.');
    for (const [type, value] of Object.entries(entries)) {
      if (SETTINGS.has(type)) continue;
      if (typeof value !== 'string') throw new ExtraModelPathsError(`${file}: ${section}.${type} must be a path (several: one per line)`);
      const folders = value.split('\n').map((line) => line.trim()).filter(Boolean).map((p) => resolve(base, p));
      paths[type] = [...(paths[type] ?? []), ...folders];
    }
  }
  return paths;
}
