// ComfyUI's SaveImage file naming (folder_paths.get_save_image_path, comfyui-api.md §5.4):
// "<prefix>_<counter:05>_.<ext>", counter = 1 + the highest counter already used by that prefix.
import { mkdir, open, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { normalizeRelativeName, resolveInside } from './safe-path.ts';

export interface CounterFilename {
  /** Absolute path to write. */
  path: string;
  /** Folder part of the prefix, "/"-separated, "" when none (the `subfolder` of UI outputs). */
  subfolder: string;
  /** File name without folders, e.g. "ComfyUI_00003_.png". */
  filename: string;
  counter: number;
}

/** The counter a file name carries for this prefix base, as ComfyUI reads it: the text after
 *  "<base>_" up to the next "_" parsed as an integer (0 when it is not one); null = other prefix. */
function counterOf(file: string, base: string): number | null {
  if (!file.startsWith(base + '_')) return null;
  const digits = file.slice(base.length + 1).split('_')[0];
  return /^\s*[+-]?\d+\s*$/.test(digits) ? Number.parseInt(digits, 10) : 0;
}

/** Next free name for `prefix` (which may hold subfolders, "a/b") inside `folder`; creates the
 *  subfolder and reserves the name (an empty file). Throws UnsafePathError if the prefix would leave the folder. */
export async function nextCounterFilename(folder: string, prefix: string, ext: string): Promise<CounterFilename> {
  const normal = normalizeRelativeName(prefix);
  const subfolder = posix.dirname(normal) === '.' ? '' : posix.dirname(normal);
  const base = posix.basename(normal);
  const fullFolder = subfolder === '' ? folder : resolveInside(folder, subfolder);
  await mkdir(fullFolder, { recursive: true });
  let highest = 0;
  for (const file of await readdir(fullFolder)) {
    const counter = counterOf(file, base);
    if (counter !== null && counter > highest) highest = counter;
  }
  // The name is reserved with an exclusive create: workers sharing one output folder (docs/server.md
  // "Many workers") never pick the same name; the caller's atomic write replaces the empty file.
  for (let counter = highest + 1; ; counter++) {
    const filename = `${base}_${String(counter).padStart(5, '0')}_.${ext}`;
    const path = join(fullFolder, filename);
    try {
      await (await open(path, 'wx')).close();
      return { path, subfolder, filename, counter };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export interface PrefixValues {
  width: number;
  height: number;
  /** Local time used for %year% ... %second%. */
  now: Date;
}

/** Replaces the server-side prefix tokens ComfyUI knows (%width%, %height%, %year%, %month%,
 *  %day%, %hour%, %minute%, %second%); the editor substitutes its own tokens before queueing. */
export function expandPrefixTokens(prefix: string, values: PrefixValues): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const { now } = values;
  return prefix
    .replaceAll('%width%', String(values.width))
    .replaceAll('%height%', String(values.height))
    .replaceAll('%year%', String(now.getFullYear()))
    .replaceAll('%month%', two(now.getMonth() + 1))
    .replaceAll('%day%', two(now.getDate()))
    .replaceAll('%hour%', two(now.getHours()))
    .replaceAll('%minute%', two(now.getMinutes()))
    .replaceAll('%second%', two(now.getSeconds()));
}
