// Node catalogue, system and model listings, feature flags, /free and the frontend's internal
// endpoints (comfyui-api.md §2.11–2.14, §2.16).

import { open, readdir, stat } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { join, relative, sep } from 'node:path';
import { Router } from 'express';
import type { Request } from 'express';
import { objectInfo, objectInfoFor } from '../../graph/index.ts';
import { resolveInside } from '../../files/index.ts';
import type { WorkerInfo } from '../../queue/index.ts';
import type { ServerContext } from '../context.ts';
import { isObject, jsonBody, rawBody, sendJson, stringQuery } from '../context.ts';
import { HttpError, badRequest, notFound } from '../http-error.ts';

/** Model folders the shipped nodes read; other existing subfolders of models/ are listed too. */
const KNOWN_MODEL_FOLDERS = ['checkpoints', 'controlnet', 'gligen', 'inv_adapter', 'clip_tokenizer'];
const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin', '.onnx', '.sft'];
/** Version of the ComfyUI API this server follows (comfyui-api.md §0). */
export const COMFYUI_API_VERSION = '0.3.64';

export function infoRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.get('/object_info', (_req, res) => {
    sendJson(res, objectInfo(ctx.registry, ctx.env));
  });
  // Unknown class → {} with 200: client A's readiness probe depends on it (§2.11).
  router.get('/object_info/:node_class', (req, res) => {
    sendJson(res, objectInfoFor(ctx.registry, ctx.env, req.params.node_class));
  });
  router.get('/system_stats', async (_req, res) => {
    const stats = systemStats(ctx);
    if (ctx.listWorkers) stats.devices = (await ctx.listWorkers()).map(workerDevice);
    sendJson(res, stats);
  });
  router.get('/embeddings', (_req, res) => sendJson(res, []));
  router.get('/extensions', (_req, res) => sendJson(res, []));
  router.get('/features', (_req, res) => sendJson(res, ctx.features));
  router.get('/i18n', (_req, res) => sendJson(res, {}));
  router.get('/workflow_templates', (_req, res) => sendJson(res, {}));

  router.get('/models', async (_req, res) => {
    sendJson(res, await modelFolders(ctx));
  });
  router.get('/models/:folder', async (req, res) => {
    const files = await modelFiles(ctx, await knownFolder(ctx, req.params.folder));
    sendJson(res, files.map((f) => f.name.split('/').join(sep)));
  });
  router.get('/experiment/models', async (_req, res) => {
    const folders = await modelFolders(ctx);
    sendJson(res, folders.map((name) => ({ name, folders: typeFolders(ctx, name) })));
  });
  router.get('/experiment/models/:folder', async (req, res) => {
    const files = await modelFiles(ctx, await knownFolder(ctx, req.params.folder));
    sendJson(res, files.map((f) => ({ name: f.name, pathIndex: f.pathIndex, modified: f.modified, created: f.created, size: f.size })));
  });
  router.get('/view_metadata/:folder', async (req, res) => {
    const folder = await knownFolder(ctx, req.params.folder);
    sendJson(res, await safetensorsMetadata(ctx, folder, stringQuery(req, 'filename')));
  });

  router.post('/free', rawBody(ctx.limits), (req, res) => {
    const request = jsonBody(req, ctx.limits);
    const flags = isObject(request) ? request : {};
    ctx.runner.free({ unloadModels: flags.unload_models === true, freeMemory: flags.free_memory === true });
    res.status(200).end();
  });

  return router;
}

/** `/internal/*`: not duplicated under /api (§1). */
export function internalRoutes(ctx: ServerContext): Router {
  const router = Router();
  router.get('/logs', (_req, res) => sendJson(res, ctx.logs.all().map((e) => e.m).join('')));
  router.get('/logs/raw', (_req, res) => sendJson(res, { entries: ctx.logs.all(), size: { cols: 80, rows: 24 } }));
  router.patch('/logs/subscribe', (_req, res) => {
    res.status(200).end();
  });
  router.get('/folder_paths', async (_req, res) => {
    const folders = await modelFolders(ctx);
    sendJson(res, Object.fromEntries(folders.map((name) => [name, [join(ctx.env.folders.models, name)]])));
  });
  router.get('/files/:type', async (req: Request, res) => {
    const type = req.params.type;
    if (type !== 'input' && type !== 'output' && type !== 'temp') throw badRequest('Invalid directory type');
    sendJson(res, await newestFirst(ctx.env.folders[type]));
  });
  return router;
}

/** A worker slot of a Redis queue as a /system_stats device; `invgraph_worker` says what it holds. */
function workerDevice(worker: WorkerInfo) {
  const cuda = /^cuda(?::(\d+))?$/.exec(worker.device);
  return {
    name: `${worker.device} on ${worker.host} (${worker.id})`,
    type: cuda ? 'cuda' : worker.device,
    index: cuda?.[1] === undefined ? null : Number(cuda[1]),
    vram_total: 0,
    vram_free: 0,
    torch_vram_total: 0,
    torch_vram_free: 0,
    invgraph_worker: { id: worker.id, host: worker.host, warm: worker.warm, busy: worker.busy, warm_starts: worker.warmStarts, cold_starts: worker.coldStarts },
  };
}

function systemStats(ctx: ServerContext): { system: Record<string, unknown>; devices: Record<string, unknown>[] } {
  const ram = { total: totalmem(), free: freemem() };
  return {
    system: {
      os: process.platform === 'win32' ? 'nt' : 'posix',
      ram_total: ram.total,
      ram_free: ram.free,
      comfyui_version: COMFYUI_API_VERSION,
      required_frontend_version: '1.27.10',
      installed_templates_version: '',
      required_templates_version: '',
      python_version: `invgraph on Node.js ${process.version}`,
      pytorch_version: 'onnxruntime-node',
      embedded_python: false,
      argv: ctx.startArgv,
    },
    devices: [
      { name: ctx.device, type: ctx.device === 'cuda' ? 'cuda' : 'cpu', index: null, vram_total: ram.total, vram_free: ram.free, torch_vram_total: 0, torch_vram_free: 0 },
    ],
  };
}

async function modelFolders(ctx: ServerContext): Promise<string[]> {
  const names = new Set([...KNOWN_MODEL_FOLDERS, ...Object.keys(ctx.env.folders.extraModels ?? {})]);
  try {
    for (const entry of await readdir(ctx.env.folders.models, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) names.add(entry.name);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return [...names].sort();
}

async function knownFolder(ctx: ServerContext, folder: string): Promise<string> {
  if (!(await modelFolders(ctx)).includes(folder)) throw notFound(`Unknown model folder "${folder}".`);
  return folder;
}

interface ModelFile {
  name: string;
  size: number;
  modified: number;
  created: number;
  /** Which of the type's folders holds it (models/<folder> is 0, then extra_model_paths.yaml's). */
  pathIndex: number;
}

/** The folders of a model type: models/<folder>, then those extra_model_paths.yaml adds. */
function typeFolders(ctx: ServerContext, folder: string): string[] {
  return [join(ctx.env.folders.models, folder), ...(ctx.env.folders.extraModels?.[folder] ?? [])];
}

/**
 * Files with model extensions in a type's folders, recursively, "/"-separated, sorted; a name in two folders is
 * listed once (the first folder wins, as the loaders resolve it). Symbolic links to files count.
 */
async function modelFiles(ctx: ServerContext, folder: string): Promise<ModelFile[]> {
  const byName = new Map<string, ModelFile>();
  for (const [pathIndex, root] of typeFolders(ctx, folder).entries()) {
    let entries;
    try {
      entries = await readdir(root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const entry of entries) {
      if (!(entry.isFile() || entry.isSymbolicLink()) || !MODEL_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext))) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path).catch(() => null);
      const name = relative(root, path).split(sep).join('/');
      if (!info?.isFile() || byName.has(name)) continue;
      byName.set(name, { name, size: info.size, modified: info.mtimeMs / 1000, created: info.birthtimeMs / 1000, pathIndex });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The `__metadata__` object of a .safetensors header; 404 when absent (§2.13). */
async function safetensorsMetadata(ctx: ServerContext, folder: string, filename: string | undefined): Promise<unknown> {
  if (!filename || !filename.endsWith('.safetensors')) throw notFound('Only .safetensors files carry metadata.');
  const path = resolveInside(join(ctx.env.folders.models, folder), filename);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    throw notFound(`No file "${filename}" in models/${folder}.`);
  }
  try {
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    const length = Number(head.readBigUInt64LE(0));
    if (length > 100 * 1024 * 1024) throw new HttpError(422, `The header of "${filename}" claims ${length} bytes; the file is not a valid safetensors file.`);
    const text = Buffer.alloc(length);
    await handle.read(text, 0, length, 8);
    let header: unknown;
    try {
      header = JSON.parse(text.toString('utf8'));
    } catch {
      throw new HttpError(422, `The header of "${filename}" is not JSON; the file is not a valid safetensors file.`);
    }
    if (!isObject(header) || !isObject(header.__metadata__)) throw notFound(`"${filename}" has no metadata.`);
    return header.__metadata__;
  } finally {
    await handle.close();
  }
}

async function newestFirst(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    const files = await Promise.all(
      entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map(async (e) => ({ name: e.name, mtime: (await stat(join(folder, e.name))).mtimeMs })),
    );
    return files.sort((a, b) => b.mtime - a.mtime).map((f) => f.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
