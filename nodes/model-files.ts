// The model files a loader's COMBO lists: matching files in a models/ subfolder and one level of
// subfolders below it (as ComfyUI), plus folders that hold a whole model (diffusers layout).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ModelListing {
  /** Which file names are models. */
  file: RegExp;
  /** A folder containing this entry is itself one model (e.g. 'unet' or 'config.json'). */
  folderMarker?: string;
}

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
