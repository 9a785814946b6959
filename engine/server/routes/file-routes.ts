// GET /view, POST /upload/image and /upload/mask (comfyui-api.md §2.8–2.10). Every name is
// confined to its folder by engine/files; uploads are size- and pixel-limited.

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Router } from 'express';
import type { Response } from 'express';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import { parseAnnotatedName, resolveInside, UnsafePathError, writeFileAtomic } from '../../files/index.ts';
import type { FolderKind } from '../../files/index.ts';
import type { ServerContext } from '../context.ts';
import { isObject, sendJson, stringQuery } from '../context.ts';
import { HttpError, badRequest, notFound } from '../http-error.ts';
import { readMultipart } from '../multipart.ts';
import type { UploadedFile } from '../multipart.ts';

/** Types a browser would run as code are served as plain bytes (§2.8). */
const ACTIVE_TYPES = /^(text\/html|text\/javascript|application\/javascript|text\/css|application\/xhtml\+xml|image\/svg\+xml)/;
/** How many "name (n).ext" candidates an upload tries before giving up. */
const MAX_NAME_SUFFIX = 10000;

export function fileRoutes(ctx: ServerContext): Router {
  const router = Router();
  router.get('/view', (req, res) => view(ctx, req.query, res));
  router.post('/upload/image', async (req, res) => {
    const form = await readMultipart(req, { maxFileBytes: ctx.limits.maxUploadBytes, maxFiles: 1 });
    sendJson(res, await saveUpload(ctx, form.fields, imagePart(form.files), undefined));
  });
  router.post('/upload/mask', async (req, res) => {
    const form = await readMultipart(req, { maxFileBytes: ctx.limits.maxUploadBytes, maxFiles: 1 });
    const original = await readOriginal(ctx, form.fields.original_ref);
    sendJson(res, await saveUpload(ctx, form.fields, imagePart(form.files), original));
  });
  return router;
}

function folderKind(type: string | undefined, fallback: FolderKind): FolderKind {
  if (type === undefined || type === '') return fallback;
  if (type === 'input' || type === 'output' || type === 'temp') return type;
  throw badRequest(`Unknown type "${type}"; use input, output or temp.`);
}

/** A subfolder outside its folder is refused with 403 for /view (§2.8), 400 for uploads. */
function subfolderPath(ctx: ServerContext, kind: FolderKind, subfolder: string, status: 400 | 403): string {
  const root = ctx.env.folders[kind];
  if (subfolder === '') return root;
  try {
    return resolveInside(root, subfolder);
  } catch (error) {
    if (error instanceof UnsafePathError) throw new HttpError(status, error.message);
    throw error;
  }
}

async function view(ctx: ServerContext, query: Record<string, unknown>, res: Response): Promise<void> {
  const raw = typeof query.filename === 'string' ? query.filename : undefined;
  if (!raw) throw notFound('Missing filename: use /view?filename=NAME&type=output&subfolder=SUB.');
  const annotated = parseAnnotatedName(raw);
  if (annotated.name.startsWith('/') || annotated.name.includes('..')) {
    throw badRequest(`Invalid filename ${JSON.stringify(raw)}: it must be a plain name; put folders in "subfolder".`);
  }
  const kind = annotated.folder ?? folderKind(typeof query.type === 'string' ? query.type : undefined, 'output');
  const folder = subfolderPath(ctx, kind, typeof query.subfolder === 'string' ? query.subfolder : '', 403);
  // Only the last part of the name counts, as in ComfyUI; a backslash is refused by resolveInside.
  const path = resolveInside(folder, basename(annotated.name));
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw notFound(`No file ${JSON.stringify(annotated.name)} in ${kind}.`);
  const name = basename(path);
  const preview = typeof query.preview === 'string' ? query.preview : undefined;
  const channel = typeof query.channel === 'string' ? query.channel : 'rgba';
  if (preview !== undefined || channel !== 'rgba') {
    await sendConverted(ctx, res, { path, name, preview, channel });
    return;
  }
  res.setHeader('Content-Disposition', `filename="${name.replace(/["\\\r\n]/g, '_')}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const type = res.type(extname(name) || 'application/octet-stream').get('Content-Type') ?? '';
  if (ACTIVE_TYPES.test(type)) res.type('application/octet-stream');
  await new Promise<void>((resolve, reject) => res.sendFile(path, { dotfiles: 'allow' }, (error) => (error ? reject(error) : resolve())));
}

interface Conversion {
  path: string;
  name: string;
  preview: string | undefined;
  channel: string;
}

/** `preview=webp;90` / `jpeg;80` re-encodes; `channel=rgb|a` gives a PNG (§2.8). */
async function sendConverted(ctx: ServerContext, res: Response, c: Conversion): Promise<void> {
  if (!['rgba', 'rgb', 'a'].includes(c.channel)) throw badRequest(`Unknown channel "${c.channel}"; use rgba, rgb or a.`);
  let image = sharp(c.path, { limitInputPixels: ctx.limits.maxUploadPixels, failOn: 'error' });
  if (c.channel === 'rgb') image = image.removeAlpha();
  if (c.channel === 'a') image = (await sharp(c.path).metadata()).hasAlpha ? image.ensureAlpha().extractChannel(3) : image.removeAlpha().greyscale().linear(0, 255);
  let type = 'image/png';
  if (c.preview !== undefined) {
    const [format, qualityText] = c.preview.split(';');
    const quality = qualityText === undefined || qualityText === '' ? 90 : Number(qualityText);
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw badRequest(`Preview quality must be an integer 1..100, got "${qualityText}".`);
    const jpeg = format === 'jpeg' && c.channel !== 'a';
    image = jpeg ? image.jpeg({ quality }) : image.webp({ quality });
    type = jpeg ? 'image/jpeg' : 'image/webp';
  } else {
    image = image.png();
  }
  let data: Buffer;
  try {
    data = await image.toBuffer();
  } catch (error) {
    throw new HttpError(422, `Cannot convert "${c.name}": ${(error as Error).message}.`);
  }
  res.setHeader('Content-Disposition', `filename="${c.name.replace(/["\\\r\n]/g, '_')}"`);
  res.type(type).send(data);
}

function imagePart(files: UploadedFile[]): UploadedFile {
  const file = files.find((f) => f.field === 'image');
  if (!file || file.filename === '') throw badRequest('The upload needs a file part named "image" with a file name.');
  return file;
}

/** Refuses non-images and pixel bombs before anything is written. */
async function checkImage(ctx: ServerContext, file: UploadedFile): Promise<Metadata> {
  let metadata: Metadata;
  try {
    metadata = await sharp(file.data, { limitInputPixels: false }).metadata();
  } catch {
    throw badRequest(`"${file.filename}" is not an image we can read; upload PNG, JPEG, WebP, GIF, TIFF or AVIF.`);
  }
  const pixels = (metadata.width ?? 0) * (metadata.height ?? 0) * (metadata.pages ?? 1);
  if (pixels > ctx.limits.maxUploadPixels) {
    throw new HttpError(413, `"${file.filename}" is ${metadata.width}x${metadata.height} (${pixels} pixels), more than the limit of ${ctx.limits.maxUploadPixels}; upload a smaller image.`);
  }
  return metadata;
}

interface UploadAnswer {
  name: string;
  subfolder: string;
  type: FolderKind;
}

async function saveUpload(ctx: ServerContext, fields: Record<string, string>, file: UploadedFile, original: Buffer | undefined): Promise<UploadAnswer> {
  const kind = folderKind(fields.type, 'input');
  const subfolder = fields.subfolder ?? '';
  const folder = subfolderPath(ctx, kind, subfolder, 400);
  if (file.filename.includes('/') || file.filename.includes('\\')) {
    throw badRequest(`File name ${JSON.stringify(file.filename)} must not contain folders; use the "subfolder" field.`);
  }
  resolveInside(folder, file.filename);
  await checkImage(ctx, file);
  const data = original ? await applyMask(ctx, original, file.data) : file.data;
  const overwrite = fields.overwrite === 'true' || fields.overwrite === '1';
  await mkdir(folder, { recursive: true });
  const name = overwrite ? { name: file.filename } : await freeName(folder, file.filename, data);
  if (name.written === false) return { name: name.name, subfolder, type: kind };
  await writeFileAtomic(resolveInside(folder, name.name), data);
  return { name: name.name, subfolder, type: kind };
}

/** ComfyUI's dedupe (§2.9): identical bytes under a candidate name → reuse it; else "name (n).ext". */
async function freeName(folder: string, filename: string, data: Buffer): Promise<{ name: string; written?: false }> {
  const ext = extname(filename);
  const stem = filename.slice(0, filename.length - ext.length);
  const digest = sha256(data);
  for (let n = 0; n <= MAX_NAME_SUFFIX; n++) {
    const candidate = n === 0 ? filename : `${stem} (${n})${ext}`;
    const path = resolveInside(folder, candidate);
    // Reserved with an exclusive create: two uploads of one name at once (workers returning their
    // outputs, docs/server.md "Many workers") get two names instead of one overwriting the other.
    const reserved = await open(path, 'wx').then(
      (handle) => handle.close().then(() => true),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      },
    );
    if (reserved) return { name: candidate };
    if (sha256(await readFile(path)) === digest) return { name: candidate, written: false };
  }
  throw new HttpError(409, `More than ${MAX_NAME_SUFFIX} files are named like "${filename}"; pick another name or set overwrite=true.`);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The original image named by `original_ref` (§2.10). */
async function readOriginal(ctx: ServerContext, ref: string | undefined): Promise<Buffer> {
  if (ref === undefined) throw badRequest('A mask upload needs an "original_ref" field: {"filename", "subfolder", "type"}.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(ref);
  } catch {
    throw badRequest(`"original_ref" is not JSON: ${JSON.stringify(ref.slice(0, 200))}.`);
  }
  if (!isObject(parsed) || typeof parsed.filename !== 'string') throw badRequest('"original_ref" needs a "filename".');
  const annotated = parseAnnotatedName(parsed.filename);
  const kind = annotated.folder ?? folderKind(typeof parsed.type === 'string' ? parsed.type : undefined, 'input');
  const folder = subfolderPath(ctx, kind, typeof parsed.subfolder === 'string' ? parsed.subfolder : '', 400);
  const path = resolveInside(folder, annotated.name);
  try {
    return await readFile(path);
  } catch {
    throw notFound(`The original image "${annotated.name}" does not exist in ${kind}.`);
  }
}

/** Copies the mask's alpha onto the original, as RGBA PNG (sizes must match, as in ComfyUI). */
async function applyMask(ctx: ServerContext, original: Buffer, mask: Buffer): Promise<Buffer> {
  const limit = { limitInputPixels: ctx.limits.maxUploadPixels };
  const base = await sharp(original, limit).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const alpha = await sharp(mask, limit).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
  if (base.info.width !== alpha.info.width || base.info.height !== alpha.info.height) {
    throw badRequest(`The mask is ${alpha.info.width}x${alpha.info.height} but the original is ${base.info.width}x${base.info.height}; they must match.`);
  }
  return sharp(base.data, { raw: base.info }).joinChannel(alpha.data, { raw: { width: alpha.info.width, height: alpha.info.height, channels: 1 } }).png().toBuffer();
}

