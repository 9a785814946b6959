// The model files a loader's COMBO lists and opens: matching files in `models/<type>` (then any extra
// folders of that type from extra_model_paths.yaml) and one level of subfolders below each (as ComfyUI),
// plus folders that hold a whole model (diffusers layout).
// Names from requests are confined to these folders lexically (no "..", no absolute paths); symbolic links
// inside a models folder are followed, since only whoever administers the folders can place them (ComfyUI
// allows the same), unlike input/output names, whose real paths must stay inside (engine/files).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Folders } from '../engine/graph/index.ts';
import { normalizeRelativeName } from '../engine/files/index.ts';

export interface ModelListing {
  /** Which file names are models. */
  file: RegExp;
  /** A folder containing this entry is itself one model (e.g. 'unet' or 'config.json'). */
  folderMarker?: string;
}

/** A named model is in none of its type's folders. */
export class ModelNotFoundError extends Error {}

/** Sorted names relative to `folder` ("a.safetensors", "sub/b.safetensors"); none when it is missing. */
export function listModelFiles(folder: string, listing: ModelListing): string[] {
  const found: string[] = [];
  const visit = (dir: string, prefix: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const info = statSync(path, { throwIfNoEntry: false });
      if (info?.isFile() && listing.file.test(name)) found.push(prefix + name);
      else if (info?.isDirectory() && listing.folderMarker && existsSync(join(path, listing.folderMarker))) found.push(prefix + name);
      else if (info?.isDirectory() && depth === 0) visit(path, `${prefix}${name}/`, depth + 1);
    }
  };
  visit(folder, '', 0);
  return found.sort();
}

/** The folders searched for a model type, in order: `models/<type>`, then extra_model_paths.yaml's. */
export function modelFolders(folders: Folders, type: string): string[] {
  return [join(folders.models, type), ...(folders.extraModels?.[type] ?? [])];
}

/** Every model of a type across its folders, sorted; a name found in two folders is listed once (the first wins). */
export function listModels(folders: Folders, type: string, listing: ModelListing): string[] {
  return [...new Set(modelFolders(folders, type).flatMap((f) => listModelFiles(f, listing)))].sort();
}

/** Absolute path of a listed model: the first of the type's folders that holds `name`. */
export function resolveModel(folders: Folders, type: string, name: string): string {
  const normal = normalizeRelativeName(name);
  const searched = modelFolders(folders, type);
  for (const folder of searched) {
    const path = join(folder, normal);
    if (existsSync(path)) return path;
  }
  throw new ModelNotFoundError(`model file ${JSON.stringify(name)} was not found in ${searched.join(', ')}; put it in ${searched[0]}`);
}
