// A minimal NodeContext for calling node `run` functions directly in tests: fresh input,
// output, temp and models folders in a temp dir; progress, interrupt checks and logs do nothing.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DefinitionEnv, Folders, NodeContext, NodeRegistry, NodeServices } from '../engine/graph/index.ts';

export interface TestContext {
  ctx: NodeContext;
  /** The same folders, for fingerprint / validate / COMBO option calls. */
  env: DefinitionEnv;
  folders: Folders;
  /** Messages passed to ctx.log, in order. */
  logs: string[];
  /** Removes the temp folders. */
  dispose(): Promise<void>;
}

export interface TestContextOptions {
  classType?: string;
  nodeId?: string;
  /** Services the node under test needs; none by default. */
  services?: NodeServices;
  /** Node classes ctx.inputSpec can describe; none by default. */
  registry?: NodeRegistry;
}

export async function createTestContext(options: TestContextOptions = {}): Promise<TestContext> {
  const root = realpathSync(await mkdtemp(join(tmpdir(), 'invgraph-node-')));
  const folders: Folders = { input: join(root, 'input'), output: join(root, 'output'), temp: join(root, 'temp'), models: join(root, 'models') };
  for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });
  const logs: string[] = [];
  const ctx: NodeContext = {
    nodeId: options.nodeId ?? '1',
    classType: options.classType ?? 'TestNode',
    folders,
    progress: () => {},
    throwIfInterrupted: () => {},
    signal: new AbortController().signal,
    log: (message) => logs.push(message),
    // Other families add required services by declaration merging; tests pass what they use.
    services: options.services ?? ({} as NodeServices),
    inputSpec: (classType, inputName) => {
      const inputs = options.registry?.get(classType)?.inputs;
      return inputs?.required[inputName] ?? inputs?.optional?.[inputName];
    },
  };
  return { ctx, env: { folders }, folders, logs, dispose: () => rm(root, { recursive: true, force: true }) };
}
