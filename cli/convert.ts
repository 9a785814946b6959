// `invgraph convert WORKFLOW.json [--out FILE]`: writes the API ("prompt") format of a UI workflow, as
// the server would execute it (the API twins in workflows/ are made with it). What the conversion
// had to drop (widget values of node types this install lacks) is named on stderr.
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseJson, stringifyJson, loadWorkflowWithWarnings } from '../engine/graph/index.ts';
import { createRegistry } from '../nodes/index.ts';

export const CONVERT_USAGE = `  invgraph convert WORKFLOW.json [--out FILE.api.json]
      Prints (or writes) the API-format prompt of a UI-format workflow.`;

export async function convertCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${CONVERT_USAGE}\n`);
    return 0;
  }
  let parsed: { values: { out?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`invgraph convert: ${(error as Error).message}\n\n${CONVERT_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`invgraph convert: expected one workflow file\n\n${CONVERT_USAGE}\n`);
    return 2;
  }
  try {
    const json = parseJson(await readFile(resolve(positionals[0]), 'utf8'));
    const { prompt, warnings } = loadWorkflowWithWarnings(json, createRegistry());
    for (const warning of warnings) process.stderr.write(`invgraph convert: warning: ${warning}\n`);
    const text = `${stringifyJson(prompt, 2)}\n`;
    if (values.out) await writeFile(resolve(values.out), text);
    else process.stdout.write(text);
    return 0;
  } catch (error) {
    process.stderr.write(`invgraph convert: ${(error as Error).message}\n`);
    return 1;
  }
}
