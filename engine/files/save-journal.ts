// Makes a save node idempotent per (prompt, node) (issue #12 item 6): a job that the process died
// under runs again, and without this its SaveImage would write a second set of files. Before each
// image is written, the name chosen for it is recorded in a small journal under the output folder;
// the rerun of the same prompt and node reuses (overwrites) those names instead of counting on.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import type { CounterFilename } from './counter-name.ts';
import { resolveInside } from './safe-path.ts';

/** Hidden beside the images; /view never lists folders, and the name cannot be a counter name. */
export const SAVE_JOURNAL_DIR = '.invgraph-saves';
/** Journals only matter until the job reaches history (seconds to hours); a week is plenty. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

export interface SavedName {
  path: string;
  filename: string;
  subfolder: string;
}

interface JournalFile {
  promptId: string;
  nodeId: string;
  files: { filename: string; subfolder: string }[];
}

export interface SaveJournal {
  /** The name for image `index`: the one a previous run of this prompt and node chose, else a new
   *  one from `allocate`, recorded before the caller writes the image. */
  nameFor(index: number, allocate: () => Promise<CounterFilename>): Promise<SavedName>;
}

const pruned = new Set<string>();

export async function openSaveJournal(folder: string, promptId: string, nodeId: string): Promise<SaveJournal> {
  const dir = join(folder, SAVE_JOURNAL_DIR);
  await mkdir(dir, { recursive: true });
  if (!pruned.has(dir)) {
    pruned.add(dir);
    await pruneOld(dir);
  }
  const key = createHash('sha256').update(`${promptId}\0${nodeId}`).digest('hex').slice(0, 40);
  const path = join(dir, `${key}.json`);
  const journal: JournalFile = (await readJournal(path, promptId, nodeId)) ?? { promptId, nodeId, files: [] };
  return {
    async nameFor(index, allocate) {
      const known = journal.files[index];
      if (known) {
        // resolveInside: a journal edited by hand still cannot point outside the folder.
        const rel = known.subfolder === '' ? known.filename : posix.join(known.subfolder, known.filename);
        return { path: resolveInside(folder, rel), filename: known.filename, subfolder: known.subfolder };
      }
      const fresh = await allocate();
      journal.files[index] = { filename: fresh.filename, subfolder: fresh.subfolder };
      await writeFileAtomic(path, JSON.stringify(journal));
      return { path: fresh.path, filename: fresh.filename, subfolder: fresh.subfolder };
    },
  };
}

async function readJournal(path: string, promptId: string, nodeId: string): Promise<JournalFile | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined; // none yet, or unreadable: count on as usual
  }
  const j = parsed as Partial<JournalFile>;
  if (j.promptId !== promptId || j.nodeId !== nodeId || !Array.isArray(j.files)) return undefined;
  const files = j.files.filter((f) => typeof f?.filename === 'string' && typeof f?.subfolder === 'string');
  return { promptId, nodeId, files };
}

async function pruneOld(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > KEEP_MS) await rm(path, { force: true });
  }
}
