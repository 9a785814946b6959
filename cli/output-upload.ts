// A worker on another machine returns its outputs to the server (docs/server.md "Many workers"):
// every image a node reports (SaveImage, PreviewImage) is uploaded with ComfyUI's POST /upload/image
// (type output or temp, same subfolder, the server's token) before its `executed` frame and the
// history entry are sent, and both name the file as the server stored it, so /view works there.

import { readFile } from 'node:fs/promises';
import type { Folders, UiOutput } from '../engine/graph/index.ts';
import { resolveInside } from '../engine/files/index.ts';
import type { ExecutionEvent } from '../engine/exec/index.ts';
import type { ExecutionBackend } from '../engine/server/index.ts';

export interface UploadTarget {
  /** The server's base URL, e.g. http://10.0.0.2:8188. */
  url: string;
  /** The server's --auth-token, sent as a bearer token. */
  token?: string;
}

interface FileRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp';
}

export function uploadingBackend(inner: ExecutionBackend, target: UploadTarget, folders: Folders): ExecutionBackend {
  return {
    ...inner,
    async run(job, onEvent) {
      const uploads = new Map<string, Promise<string>>();
      const uploadOnce = (ref: FileRef) => {
        const key = JSON.stringify([ref.type, ref.subfolder, ref.filename]);
        if (!uploads.has(key)) uploads.set(key, upload(ref, target, folders));
        return uploads.get(key)!;
      };
      let chain = Promise.resolve();
      let failure: unknown;
      const forward = (event: ExecutionEvent) => {
        chain = chain
          .then(async () => {
            if (event.type === 'executed' && event.data.output) {
              onEvent({ ...event, data: { ...event.data, output: await renamed(event.data.output, uploadOnce) } });
            } else onEvent(event);
          })
          .catch((error: unknown) => {
            failure ??= error;
          });
      };
      const outcome = await inner.run(job, forward);
      await chain;
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
      const outputs: Record<string, UiOutput> = {};
      for (const [node, ui] of Object.entries(outcome.outputs)) outputs[node] = await renamed(ui, uploadOnce);
      return { ...outcome, outputs };
    },
  };
}

/** The UI output with each output/temp file entry renamed to the server's name. */
async function renamed(ui: UiOutput, uploadOnce: (ref: FileRef) => Promise<string>): Promise<UiOutput> {
  const result: UiOutput = {};
  for (const [key, entries] of Object.entries(ui)) {
    result[key] = await Promise.all(
      entries.map(async (entry) => (isFileRef(entry) ? { ...entry, filename: await uploadOnce(entry) } : entry)),
    );
  }
  return result;
}

function isFileRef(value: unknown): value is FileRef {
  const ref = value as Partial<FileRef> | null;
  return typeof ref === 'object' && ref !== null && typeof ref.filename === 'string' && typeof ref.subfolder === 'string' && (ref.type === 'output' || ref.type === 'temp');
}

async function upload(ref: FileRef, target: UploadTarget, folders: Folders): Promise<string> {
  const folder = ref.subfolder === '' ? folders[ref.type] : resolveInside(folders[ref.type], ref.subfolder);
  const data = await readFile(resolveInside(folder, ref.filename));
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(data)]), ref.filename);
  form.append('type', ref.type);
  form.append('subfolder', ref.subfolder);
  const headers: Record<string, string> = target.token ? { Authorization: `Bearer ${target.token}` } : {};
  const res = await fetch(`${target.url.replace(/\/$/, '')}/upload/image`, { method: 'POST', body: form, headers });
  const answer = (await res.json().catch(() => ({}))) as { name?: unknown; error?: unknown };
  if (res.status !== 200 || typeof answer.name !== 'string') {
    throw new Error(`cannot return ${ref.type}/${ref.subfolder ? `${ref.subfolder}/` : ''}${ref.filename} to the server at ${target.url}: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
  }
  return answer.name;
}
