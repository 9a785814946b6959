// Folder flags shared by `run` and `serve`.
import { resolve } from 'node:path';

/** `serve` says --output, early `run` said --out: both are accepted, a conflict is refused. */
export function outputFlag(output: string | undefined, out: string | undefined): string | undefined {
  if (output !== undefined && out !== undefined && resolve(output) !== resolve(out)) {
    throw new Error(`--output ${output} and --out ${out} name different folders; give one of them`);
  }
  return output ?? out;
}
