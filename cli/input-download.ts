// A worker on another machine fetches the input files a prompt names from the server (docs/server.md
// "Many workers"): uploads land in the server's input folder, while LoadImage reads the worker's. Before
// a prompt runs, every file-upload input (LoadImage's `image`, and any input declared `imageUpload`) is
// downloaded with ComfyUI's GET /view and the server's token, and written into the worker's own folder
// when its bytes differ (a file replaced on the server under the same name is replaced here too).

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, posix } from 'node:path';
import { isLink, type ApiPrompt, type Folders, type NodeRegistry } from '../engine/graph/index.ts';
import { parseAnnotatedName, resolveInside, type FolderKind } from '../engine/files/index.ts';
import type { ExecutionBackend } from '../engine/server/index.ts';
import type { UploadTarget } from './output-upload.ts';

/** Largest input file a worker downloads (the server's own upload limit is smaller). */
export const MAX_INPUT_DOWNLOAD_BYTES = 512 * 1024 * 1024;

export interface InputFileRef {
  type: FolderKind;
  subfolder: string;
  filename: string;
}

/** The files in the server's folders that `prompt` reads through file-upload inputs. */
export function inputFilesOf(prompt: ApiPrompt, registry: NodeRegistry): InputFileRef[] {
  const found = new Map<string, InputFileRef>();
  for (const node of Object.values(prompt)) {
    const definition = registry.get(node.class_type);
    if (!definition) continue;
    const specs = { ...definition.inputs.required, ...definition.inputs.optional };
    for (const [name, spec] of Object.entries(specs)) {
      const value = node.inputs[name];
      if (!spec || !('imageUpload' in spec) || !spec.imageUpload || typeof value !== 'string' || isLink(value)) continue;
      const { name: path, folder } = parseAnnotatedName(value);
      const subfolder = posix.dirname(path) === '.' ? '' : posix.dirname(path);
      const ref: InputFileRef = { type: folder ?? 'input', subfolder, filename: posix.basename(path) };
      found.set(JSON.stringify(ref), ref);
    }
  }
  return [...found.values()];
}

export function inputFetchingBackend(inner: ExecutionBackend, target: UploadTarget, folders: Folders, registry: NodeRegistry): ExecutionBackend {
  return {
    ...inner,
    async run(job, onEvent) {
      for (const ref of inputFilesOf(job.prompt, registry)) await fetchInput(ref, target, folders);
      return inner.run(job, onEvent);
    },
  };
}

async function fetchInput(ref: InputFileRef, target: UploadTarget, folders: Folders): Promise<void> {
  // Confined like every other path: a hostile name never leaves the worker's folder.
  const local = resolveInside(folders[ref.type], ref.subfolder === '' ? ref.filename : `${ref.subfolder}/${ref.filename}`);
  const query = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder, type: ref.type });
  const headers: Record<string, string> = target.token ? { Authorization: `Bearer ${target.token}` } : {};
  const shown = `${ref.type}/${ref.subfolder ? `${ref.subfolder}/` : ''}${ref.filename}`;
  let res: Response;
  try {
    res = await fetch(`${target.url.replace(/\/$/, '')}/view?${query}`, { headers });
  } catch (error) {
    throw new Error(`cannot fetch ${shown} from the server at ${target.url}: ${(error as Error).message}`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return; // the server does not have it either: validation names the missing file as usual
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`cannot fetch ${shown} from the server at ${target.url}: ${res.status} ${res.statusText}`);
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_INPUT_DOWNLOAD_BYTES) {
    await res.body?.cancel();
    throw new Error(`${shown} on the server is ${declared} bytes, more than a worker downloads (${MAX_INPUT_DOWNLOAD_BYTES})`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  const current = await readFile(local).catch(() => null);
  if (current?.equals(bytes)) return;
  await mkdir(dirname(local), { recursive: true });
  const tmp = `${local}.download-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, bytes);
  await rename(tmp, local); // readers never see half a file
}
