// Folder flags and first-run folder contents shared by `run` and `serve`.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `serve` says --output, early `run` said --out: both are accepted, a conflict is refused. */
export function outputFlag(output: string | undefined, out: string | undefined): string | undefined {
  if (output !== undefined && out !== undefined && resolve(output) !== resolve(out)) {
    throw new Error(`--output ${output} and --out ${out} name different folders; give one of them`);
  }
  return output ?? out;
}

const SHIPPED_INPUTS = fileURLToPath(new URL('../workflows/inputs/', import.meta.url));

/** ComfyUI ships input/example.png, which its example workflows load; ours live in workflows/inputs.
 *  Each shipped image missing from the input folder is copied there (never overwriting), so the
 *  shipped workflows run on a fresh clone. Returns the names copied. */
export async function seedInputFolder(input: string): Promise<string[]> {
  const copied: string[] = [];
  let names: string[];
  try {
    names = await readdir(SHIPPED_INPUTS);
  } catch {
    return copied;
  }
  await mkdir(input, { recursive: true });
  for (const name of names) {
    try {
      await copyFile(join(SHIPPED_INPUTS, name), join(input, name), constants.COPYFILE_EXCL);
      copied.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return copied;
}
