// Single-user settings and user data the official frontend reads at boot (comfyui-api.md §2.15),
// stored under <data>/user/default; every path is confined there.

import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Router } from 'express';
import type { Request } from 'express';
import { parseJson, stringifyJson } from '../../graph/index.ts';
import { resolveInside, UnsafePathError, writeFileAtomic } from '../../files/index.ts';
import type { ServerContext } from '../context.ts';
import { isObject, jsonBody, rawBody, sendJson, stringQuery } from '../context.ts';
import { HttpError, badRequest, notFound } from '../http-error.ts';

const SETTINGS_FILE = 'comfy.settings.json';

export function userRoutes(ctx: ServerContext): Router {
  const router = Router();
  const userDir = join(ctx.dataDir, 'user', 'default');
  const body = rawBody(ctx.limits);

  router.get('/users', async (_req, res) => {
    sendJson(res, { storage: 'server', migrated: await exists(userDir) });
  });
  router.post('/users', () => {
    throw badRequest('This server runs in single-user mode; there are no users to create.');
  });

  router.get('/settings', async (_req, res) => sendJson(res, await readSettings(userDir)));
  router.get('/settings/:id', async (req, res) => {
    const settings = await readSettings(userDir);
    sendJson(res, Object.hasOwn(settings, req.params.id) ? settings[req.params.id] : null);
  });
  router.post('/settings', body, async (req, res) => {
    const update = jsonBody(req, ctx.limits);
    if (!isObject(update)) throw badRequest('POST /settings takes a JSON object of settings.');
    await writeSettings(userDir, { ...(await readSettings(userDir)), ...update });
    res.status(200).end();
  });
  router.post('/settings/:id', body, async (req, res) => {
    const value = jsonBody(req, ctx.limits);
    await writeSettings(userDir, { ...(await readSettings(userDir)), [req.params.id]: value ?? null });
    res.status(200).end();
  });

  router.get('/userdata', async (req, res) => {
    const dir = stringQuery(req, 'dir');
    if (!dir) throw badRequest('GET /userdata needs ?dir=FOLDER.');
    const root = inUserDir(userDir, dir, 403);
    if (!(await isDirectory(root))) throw notFound(`No folder "${dir}" in the user data.`);
    const files = await listFiles(root, stringQuery(req, 'recurse') === 'true');
    if (stringQuery(req, 'full_info') === 'true') {
      sendJson(res, await Promise.all(files.map((f) => fileInfo(root, f))));
    } else if (stringQuery(req, 'split') === 'true') {
      sendJson(res, files.map((f) => [f, ...f.split('/')]));
    } else {
      sendJson(res, files);
    }
  });
  router.get('/v2/userdata', async (req, res) => {
    const path = stringQuery(req, 'path') ?? '';
    sendJson(res, await listV2(userDir, path));
  });
  router.get('/userdata/:file', async (req, res) => {
    const path = inUserDir(userDir, req.params.file, 400);
    if (!(await isFile(path))) throw notFound(`No user file "${req.params.file}".`);
    await new Promise<void>((resolve, reject) => res.sendFile(path, { dotfiles: 'allow' }, (e) => (e ? reject(e) : resolve())));
  });
  router.post('/userdata/:file', body, async (req, res) => {
    const path = inUserDir(userDir, req.params.file, 400);
    if (!overwriteAllowed(req) && (await exists(path))) throw new HttpError(409, `User file "${req.params.file}" exists; pass overwrite=true to replace it.`);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    await answerFile(req, res, userDir, path);
  });
  router.delete('/userdata/:file', async (req, res) => {
    const path = inUserDir(userDir, req.params.file, 400);
    if (!(await isFile(path))) throw notFound(`No user file "${req.params.file}".`);
    await rm(path);
    res.status(204).end();
  });
  router.post('/userdata/:file/move/:dest', async (req, res) => {
    const source = inUserDir(userDir, req.params.file, 400);
    const dest = inUserDir(userDir, req.params.dest, 400);
    if (!(await isFile(source))) throw notFound(`No user file "${req.params.file}".`);
    if (!overwriteAllowed(req) && (await exists(dest))) throw new HttpError(409, `User file "${req.params.dest}" exists; pass overwrite=true to replace it.`);
    await mkdir(dirname(dest), { recursive: true });
    await rename(source, dest);
    await answerFile(req, res, userDir, dest);
  });
  return router;
}

function inUserDir(userDir: string, name: string, status: 400 | 403): string {
  try {
    return resolveInside(userDir, name);
  } catch (error) {
    if (error instanceof UnsafePathError) throw new HttpError(status, error.message);
    throw error;
  }
}

function overwriteAllowed(req: Request): boolean {
  // As ComfyUI: anything but "false" overwrites.
  return stringQuery(req, 'overwrite') !== 'false';
}

async function answerFile(req: Request, res: import('express').Response, userDir: string, path: string): Promise<void> {
  const rel = relative(userDir, path).split(sep).join('/');
  if (stringQuery(req, 'full_info') === 'true') sendJson(res, await fileInfo(userDir, rel));
  else sendJson(res, rel);
}

async function readSettings(userDir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(userDir, SETTINGS_FILE), 'utf8');
  } catch {
    return {};
  }
  const value = parseJson(text);
  return isObject(value) ? value : {};
}

async function writeSettings(userDir: string, settings: Record<string, unknown>): Promise<void> {
  await mkdir(userDir, { recursive: true });
  await writeFileAtomic(join(userDir, SETTINGS_FILE), stringifyJson(settings, 4));
}

async function listFiles(root: string, recurse: boolean): Promise<string[]> {
  const entries = await readdir(root, { recursive: recurse, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function fileInfo(root: string, rel: string) {
  const info = await stat(join(root, rel));
  return { path: rel, size: info.size, modified: info.mtimeMs, created: info.birthtimeMs };
}

/** §2.15 v2 listing: directories first, then files, each by case-insensitive name. */
async function listV2(userDir: string, path: string) {
  const root = path === '' ? userDir : inUserDir(userDir, path, 403);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    if (path === '') return [];
    throw notFound(`No folder "${path}" in the user data.`);
  }
  const prefix = path === '' ? '' : `${path.replace(/\/$/, '')}/`;
  const byName = (a: { name: string }, b: { name: string }) => a.name.toLowerCase().localeCompare(b.name.toLowerCase());
  const dirs = entries.filter((e) => e.isDirectory()).sort(byName).map((e) => ({ name: e.name, path: prefix + e.name, type: 'directory' }));
  const files = await Promise.all(
    entries.filter((e) => e.isFile()).sort(byName).map(async (e) => {
      const info = await stat(join(root, e.name));
      return { name: e.name, path: prefix + e.name, type: 'file', size: info.size, modified: info.mtimeMs / 1000 };
    }),
  );
  return [...dirs, ...files];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
