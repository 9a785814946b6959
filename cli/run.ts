// `invgraph run WORKFLOW.json`: loads a UI- or API-format workflow, applies --set overrides,
// validates it with ComfyUI's error shapes, runs it headless and prints the files it wrote.
import { randomUUID } from 'node:crypto';
import { readFile, copyFile, mkdir, stat } from 'node:fs/promises';
import { basename, resolve, relative, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import {
  parseJson, stringifyJson, loadWorkflow, loadWorkflowWithWarnings, detectWorkflowFormat, validatePrompt, didYouMean, unknownInputs, registryLookup, setWorkflowInput,
} from '../engine/graph/index.ts';
import type { ApiPrompt, Folders, NodeRegistry } from '../engine/graph/index.ts';
import type { ExecutionEvent, ExecutionOutcome } from '../engine/exec/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { parseDevice } from '../nodes/services.ts';
import { createWorkerBackend } from './execution-host.ts';
import { outputFlag, seedInputFolder } from './folder-flags.ts';
import { ProgressDisplay } from './progress-display.ts';
import { readableError } from './error-report.ts';
import { loadExtraModelPaths, applyMaxDecodePixels, applyPreviewMethod, applyMemoryBudget } from './model-paths.ts';

export const RUN_USAGE = `  invgraph run WORKFLOW.json [--set NODE_ID.INPUT=VALUE ...] [--input DIR] [--output DIR]
               [--models DIR] [--extra-model-paths FILE] [--memory-budget GB] [--max-decode-pixels N]
               [--preview-method auto|latent2rgb|taesd|none]
               [--device auto|cpu|cuda|webgpu] [--json]
      Runs a workflow (ComfyUI UI or API format) headless and prints the output files.
      --set values are JSON when they parse as JSON, else strings; a LoadImage "image" set to
      a file outside --input is copied into --input first. --out is the same as --output.`;

const MAX_WORKFLOW_BYTES = 20 * 1024 * 1024;

export interface RunOptions {
  workflowPath: string;
  sets: string[];
  folders: Folders;
  device: string;
  json: boolean;
}

export async function runCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  let options: RunOptions;
  try {
    options = parseRunArgs(argv);
  } catch (error) {
    process.stderr.write(`invgraph run: ${(error as Error).message}\n\n${RUN_USAGE}\n`);
    return 2;
  }
  jsonReports = options.json;
  try {
    return await runWorkflow(options);
  } catch (error) {
    printError({ type: 'invalid_prompt', message: (error as Error).message, details: '', extra_info: {} });
    return 1;
  }
}

export function parseRunArgs(argv: string[]): RunOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      set: { type: 'string', multiple: true, default: [] },
      input: { type: 'string', default: 'input' },
      output: { type: 'string' },
      out: { type: 'string' },
      models: { type: 'string', default: 'models' },
      'extra-model-paths': { type: 'string' },
      'memory-budget': { type: 'string' },
      'max-decode-pixels': { type: 'string' },
      'preview-method': { type: 'string' },
      temp: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new Error('expected exactly one workflow file');
  applyMemoryBudget(values['memory-budget']);
  applyMaxDecodePixels(values['max-decode-pixels']);
  applyPreviewMethod(values['preview-method']);
  const output = resolve(outputFlag(values.output, values.out) ?? 'output');
  return {
    workflowPath: resolve(positionals[0]),
    sets: values.set ?? [],
    folders: {
      input: resolve(values.input),
      output,
      temp: resolve(values.temp ?? resolve(output, '..', 'temp')),
      models: resolve(values.models),
      extraModels: loadExtraModelPaths(values['extra-model-paths']),
    },
    device: values.device,
    json: values.json,
  };
}

async function runWorkflow(options: RunOptions): Promise<number> {
  const { folders } = options;
  await Promise.all([folders.input, folders.output, folders.temp].map((dir) => mkdir(dir, { recursive: true })));
  await seedInputFolder(folders.input);
  const registry = createRegistry();
  const env = { folders };
  const text = await readFile(options.workflowPath, 'utf8');
  const workflowJson = parseJson(text, { maxBytes: MAX_WORKFLOW_BYTES });
  const isUi = detectWorkflowFormat(workflowJson) === 'ui';
  const { prompt, warnings } = loadWorkflowWithWarnings(workflowJson, registry, env);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const applied = await applySets(prompt, options.sets, folders, registry);
  for (const unknown of unknownInputs(prompt, registry)) process.stderr.write(`warning: ${unknown.message}\n`);

  const validation = await validatePrompt(prompt, registry, env);
  if (!validation.ok) {
    printError(validation.error, validation.node_errors);
    return 1;
  }
  if (Object.keys(validation.node_errors ?? {}).length > 0) printError(undefined, validation.node_errors);

  // Models run in an execution process, as under the server: Ctrl+C interrupts even during a long model call.
  parseDevice(options.device);
  const display = new ProgressDisplay(
    { write: (s) => process.stderr.write(s), isTTY: Boolean(process.stderr.isTTY) },
    (id) => validation.prompt[id]?.class_type ?? '?',
  );
  const backend = createWorkerBackend({ folders, device: options.device, log: (m) => display.log(m) });
  const onSigint = () => backend.interrupt();
  process.once('SIGINT', onSigint);
  const pngWorkflow = isUi ? workflowThatRan(workflowJson, applied, prompt, registry, env) : undefined;
  const extraPngInfo = pngWorkflow ? { workflow: pngWorkflow } : undefined;
  let outcome: ExecutionOutcome;
  try {
    outcome = await backend.run(
      { promptId: `cli-${randomUUID()}`, prompt: validation.prompt, outputs: validation.outputs, extraData: { extra_pnginfo: extraPngInfo } },
      (event) => showEvent(display, event),
    );
  } finally {
    process.off('SIGINT', onSigint);
    display.finishCurrent();
    await backend.close();
  }

  if (outcome.status !== 'success') {
    printError(outcome.error ?? { type: outcome.status, message: `execution ${outcome.status}` });
    return outcome.status === 'interrupted' ? 130 : 1;
  }
  const files = outputFiles(outcome.outputs, folders);
  for (const [nodeId, ui] of Object.entries(outcome.outputs)) {
    for (const text of ui.text ?? []) process.stderr.write(`[${nodeId}] ${String(text)}\n`);
  }
  if (options.json) {
    process.stdout.write(stringifyJson({ files, timings: display.timings }) + '\n');
  } else {
    for (const file of files) process.stdout.write(`${file}\n`);
  }
  return 0;
}

function showEvent(display: ProgressDisplay, event: ExecutionEvent): void {
  switch (event.type) {
    case 'executing':
      display.nodeStarted(event.data.node);
      break;
    case 'progress':
      display.progress(event.data.value, event.data.max);
      break;
    case 'execution_cached':
      display.cached(event.data.nodes);
      break;
    default:
      break;
  }
}

interface AppliedSet {
  nodeId: string;
  inputName: string;
  value: unknown;
}

/**
 * The UI workflow to embed in saved PNGs: the file as loaded with the --set values written into
 * its widgets, so reopening the PNG reproduces the image. When the workflow cannot express a
 * --set (an inner node of a subgraph, a socket-only input) it is left out and only the prompt
 * chunk (which the editor opens too) is embedded, rather than a workflow that makes another image.
 */
function workflowThatRan(workflowJson: unknown, applied: AppliedSet[], prompt: ApiPrompt, registry: NodeRegistry, env: { folders: Folders }): Record<string, unknown> | undefined {
  if (applied.length === 0) return workflowJson as Record<string, unknown>;
  const updated = structuredClone(workflowJson);
  const lookup = registryLookup(registry, env);
  const written = applied.every(({ nodeId, inputName, value }) => setWorkflowInput(updated, nodeId, inputName, value, lookup(prompt[nodeId].class_type)));
  if (written && isDeepStrictEqual(loadWorkflow(updated, registry, env), prompt)) return updated as Record<string, unknown>;
  process.stderr.write('warning: the --set values cannot all be written into the UI workflow, so saved PNGs carry only the prompt (API) chunk\n');
  return undefined;
}

/** NODE_ID.INPUT=VALUE; VALUE is JSON when it parses, else a string. Returns what it set. */
async function applySets(prompt: ApiPrompt, sets: string[], folders: Folders, registry: NodeRegistry): Promise<AppliedSet[]> {
  const applied: AppliedSet[] = [];
  for (const assignment of sets) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(assignment);
    if (!match) throw new Error(`--set "${assignment}" must look like NODE_ID.INPUT=VALUE`);
    const [, nodeId, inputName, rawValue] = match;
    const node = prompt[nodeId];
    if (!node) throw new Error(`--set ${nodeId}.${inputName}: the workflow has no node "${nodeId}" (nodes: ${Object.keys(prompt).join(', ')})`);
    const definition = registry.get(node.class_type);
    const declared = definition ? Object.keys({ ...definition.inputs.required, ...definition.inputs.optional }) : [];
    if (definition && !declared.includes(inputName)) {
      // ComfyUI would ignore it and run with the default: a typo must not pass silently.
      throw new Error(`--set ${nodeId}.${inputName}: ${node.class_type} has no input "${inputName}"${didYouMean(inputName, declared)}; its inputs: ${declared.join(', ')}`);
    }
    let value: unknown;
    try {
      value = parseJson(rawValue, { maxBytes: MAX_WORKFLOW_BYTES });
    } catch {
      value = rawValue;
    }
    if (node.class_type === 'LoadImage' && inputName === 'image' && typeof value === 'string') {
      value = await importImageIntoInput(value, folders.input, `--set ${nodeId}.${inputName}`);
    }
    node.inputs[inputName] = value as ApiPrompt[string]['inputs'][string];
    applied.push({ nodeId, inputName, value });
  }
  return applied;
}

/** A photo given by path outside the input folder is copied in, so LoadImage stays confined. */
export async function importImageIntoInput(value: string, inputFolder: string, flag: string): Promise<string> {
  const candidate = resolve(value);
  const inside = relative(inputFolder, candidate);
  if (!inside.startsWith('..') && !isAbsolute(inside)) return inside;
  const info = await stat(candidate).catch(() => null);
  if (!info?.isFile()) {
    // A path (not a bare name the input folder may hold) that names no file: say so, rather than
    // let validation call it an unsafe file name.
    if (isAbsolute(value) || /^\.\.?[\\/]/.test(value)) {
      throw new Error(`${flag}: no image file at ${candidate}${info ? ' (it is a folder)' : ''}; give the path of an existing image, or a file name in ${inputFolder}`);
    }
    return value;
  }
  const target = resolve(inputFolder, basename(candidate));
  await copyFile(candidate, target);
  process.stderr.write(`copied ${candidate} into ${inputFolder}\n`);
  return basename(candidate);
}

function outputFiles(outputs: Record<string, Record<string, unknown[]>>, folders: Folders): string[] {
  const files: string[] = [];
  for (const ui of Object.values(outputs)) {
    for (const item of ui.images ?? []) {
      const image = item as { filename?: string; subfolder?: string; type?: string };
      if (!image.filename) continue;
      const base = image.type === 'temp' ? folders.temp : image.type === 'input' ? folders.input : folders.output;
      files.push(resolve(base, image.subfolder ?? '', image.filename));
    }
  }
  return files;
}

/** Set from --json: the full structure even on a terminal. */
let jsonReports = false;

function printError(error: unknown, nodeErrors?: unknown): void {
  if (process.stderr.isTTY && !jsonReports) {
    process.stderr.write(readableError(error, nodeErrors));
    return;
  }
  const body = nodeErrors === undefined ? { error } : { error, node_errors: nodeErrors };
  process.stderr.write(`${stringifyJson(body, 2)}\n`);
}
