// JobQueue on one SQLite file (better-sqlite3, synchronous): every call is one transaction,
// committed before it returns, so an accepted job is on disk before POST /prompt answers.

import Database from 'better-sqlite3';
import type { HistoryEntry, HistoryPage, JobQueue, NewJob, QueuedJob } from '../job-queue.ts';
import { fromJsonText, toJsonText } from './json-text.ts';

export interface SqliteQueueOptions {
  /** Database file; ':memory:' for tests that need no durability. */
  file: string;
  /** Most history entries kept; the oldest go first (ComfyUI keeps 10000). */
  historyMax?: number;
  /** A job whose run was cut short by the process dying this many times is not run again but
   *  recorded as failed (default MAX_CRASHED_STARTS). */
  maxCrashedStarts?: number;
}

/** Once: a crash or kill -9 mid-job is usually unrelated to the job. Twice: the job itself most
 *  likely takes the process down (or runs until someone kills it), so it must not loop forever. */
export const MAX_CRASHED_STARTS = 2;

interface JobRow {
  number: number;
  prompt_id: string;
  prompt: string;
  extra_data: string;
  outputs: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  prompt_id TEXT NOT NULL,
  number REAL NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running')),
  prompt TEXT NOT NULL,
  extra_data TEXT NOT NULL,
  outputs TEXT NOT NULL,
  starts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_order ON jobs (state, number, prompt_id, seq);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  prompt_id TEXT NOT NULL UNIQUE,
  entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('counter', 0);
`;

const JOB_COLUMNS = 'number, prompt_id, prompt, extra_data, outputs';

export function openSqliteQueue(options: SqliteQueueOptions): JobQueue {
  const historyMax = options.historyMax ?? 10000;
  if (!Number.isInteger(historyMax) || historyMax < 1) {
    throw new Error(`history retention must be a positive integer, got ${historyMax}`);
  }
  const db = new Database(options.file);
  db.pragma('journal_mode = WAL');
  // FULL: a committed job survives power loss too, not only a killed process.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  // Queue files from before the crash count (issue #12) lack the column.
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(jobs)').all();
  if (!columns.some((c) => c.name === 'starts')) db.exec('ALTER TABLE jobs ADD COLUMN starts INTEGER NOT NULL DEFAULT 0');
  recoverRunning(db, options.maxCrashedStarts ?? MAX_CRASHED_STARTS, historyMax);

  const st = {
    counter: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'counter'"),
    bumpCounter: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'counter'"),
    insert: db.prepare(
      "INSERT INTO jobs (prompt_id, number, state, prompt, extra_data, outputs) VALUES (?, ?, 'pending', ?, ?, ?)",
    ),
    first: db.prepare<[], JobRow & { seq: number }>(
      `SELECT seq, ${JOB_COLUMNS} FROM jobs WHERE state = 'pending' ORDER BY number, prompt_id, seq LIMIT 1`,
    ),
    markRunning: db.prepare("UPDATE jobs SET state = 'running', starts = starts + 1 WHERE seq = ?"),
    // An orderly close leaves the running job to run again; that start was not a crash.
    releaseRunning: db.prepare("UPDATE jobs SET state = 'pending', starts = MAX(starts - 1, 0) WHERE state = 'running'"),
    byState: db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY number, prompt_id, seq`),
    contains: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM jobs WHERE prompt_id = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs'),
    deleteRunning: db.prepare("DELETE FROM jobs WHERE prompt_id = ? AND state = 'running'"),
    deletePending: db.prepare("DELETE FROM jobs WHERE prompt_id = ? AND state = 'pending'"),
    clearPending: db.prepare("DELETE FROM jobs WHERE state = 'pending'"),
    putHistory: db.prepare(
      'INSERT INTO history (prompt_id, entry) VALUES (?, ?) ON CONFLICT (prompt_id) DO UPDATE SET entry = excluded.entry',
    ),
    trimHistory: db.prepare('DELETE FROM history WHERE seq NOT IN (SELECT seq FROM history ORDER BY seq DESC LIMIT ?)'),
    historyCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM history'),
    historyWindow: db.prepare<[number, number], { prompt_id: string; entry: string }>(
      'SELECT prompt_id, entry FROM history ORDER BY seq LIMIT ? OFFSET ?',
    ),
    historyOne: db.prepare<[string], { entry: string }>('SELECT entry FROM history WHERE prompt_id = ?'),
    deleteHistory: db.prepare('DELETE FROM history WHERE prompt_id = ?'),
    clearHistory: db.prepare('DELETE FROM history'),
  };

  const add = db.transaction((job: NewJob): number => {
    let number = job.number;
    if (number === undefined) {
      const counter = st.counter.get()!.value;
      st.bumpCounter.run();
      number = job.front ? -counter : counter;
    }
    st.insert.run(job.promptId, number, toJsonText(job.prompt), toJsonText(job.extraData), JSON.stringify(job.outputs));
    return number;
  });

  const take = db.transaction((): QueuedJob | undefined => {
    const row = st.first.get();
    if (!row) return undefined;
    st.markRunning.run(row.seq);
    return fromRow(row);
  });

  const finish = db.transaction((promptId: string, entry: HistoryEntry) => {
    st.putHistory.run(promptId, toJsonText(entry));
    st.deleteRunning.run(promptId);
    st.trimHistory.run(historyMax);
    return true;
  });

  function historyRows(page: HistoryPage): [string, string][] {
    const [limit, offset] = historyWindow(st.historyCount.get()!.n, page);
    return st.historyWindow.all(limit, offset).map((r) => [r.prompt_id, r.entry]);
  }

  const deletePending = db.transaction((ids: readonly string[]) => {
    let removed = 0;
    for (const id of ids) removed += st.deletePending.run(id).changes;
    return removed;
  });

  const deleteHistory = db.transaction((ids: readonly string[]) => {
    for (const id of ids) st.deleteHistory.run(id);
  });

  return {
    add,
    take,
    finish,
    running: () => st.byState.all('running').map(fromRow),
    contains: (promptId) => st.contains.get(promptId)!.n > 0,
    pending: () => st.byState.all('pending').map(fromRow),
    remaining: () => st.count.get()!.n,
    deletePending,
    clearPending: () => st.clearPending.run().changes,
    history(page: HistoryPage = {}) {
      return historyRows(page).map(([id, text]) => [id, fromJsonText<HistoryEntry>(text)]);
    },
    historyJson: (page: HistoryPage = {}) => historyRows(page),
    historyEntry(promptId) {
      const row = st.historyOne.get(promptId);
      return row ? fromJsonText<HistoryEntry>(row.entry) : undefined;
    },
    deleteHistory,
    clearHistory: () => {
      st.clearHistory.run();
    },
    close: () => {
      st.releaseRunning.run();
      db.close();
    },
  };
}

/** A job that was running when the process died runs again (it never reached history), unless
 *  the process died under it `maxStarts` times: then it goes to history as failed, with the reason. */
function recoverRunning(db: Database.Database, maxStarts: number, historyMax: number): void {
  const crashed = db.prepare<[number], JobRow & { seq: number; starts: number }>(
    `SELECT seq, starts, ${JOB_COLUMNS} FROM jobs WHERE state = 'running' AND starts >= ?`,
  );
  const putHistory = db.prepare('INSERT INTO history (prompt_id, entry) VALUES (?, ?) ON CONFLICT (prompt_id) DO UPDATE SET entry = excluded.entry');
  const drop = db.prepare('DELETE FROM jobs WHERE seq = ?');
  const trim = db.prepare('DELETE FROM history WHERE seq NOT IN (SELECT seq FROM history ORDER BY seq DESC LIMIT ?)');
  db.transaction(() => {
    for (const row of crashed.all(maxStarts)) {
      putHistory.run(row.prompt_id, toJsonText(crashedEntry(fromRow(row), row.starts)));
      drop.run(row.seq);
    }
    db.prepare("UPDATE jobs SET state = 'pending' WHERE state = 'running'").run();
    trim.run(historyMax);
  })();
}

function crashedEntry(job: QueuedJob, starts: number): HistoryEntry {
  const message =
    `The server stopped ${starts} times while running this prompt (it crashed or was killed), so it is not run again. ` +
    'If it asks for a very large image, batch or step count, ask for less; otherwise check the server log of those runs.';
  const error = {
    prompt_id: job.promptId,
    node_id: '',
    node_type: '',
    executed: [],
    exception_message: `${message}\n`,
    exception_type: 'ServerStoppedDuringPrompt',
    traceback: [],
    current_inputs: {},
    current_outputs: [],
    timestamp: Date.now(),
  };
  return {
    prompt: [job.number, job.promptId, job.prompt, job.extraData, job.outputs],
    outputs: {},
    status: { status_str: 'error', completed: false, messages: [['execution_error', error]] },
    meta: {},
  };
}

/** ComfyUI's paging (§2.6): max_items alone → the newest N; offset counts from the oldest. */
export function historyWindow(total: number, page: HistoryPage): [limit: number, offset: number] {
  const { maxItems, offset } = page;
  if (offset === undefined) {
    if (maxItems === undefined) return [total, 0];
    return [maxItems, Math.max(0, total - maxItems)];
  }
  return [maxItems ?? total, offset];
}

function fromRow(row: JobRow): QueuedJob {
  return {
    number: row.number,
    promptId: row.prompt_id,
    prompt: fromJsonText(row.prompt),
    extraData: fromJsonText(row.extra_data),
    outputs: JSON.parse(row.outputs) as string[],
  };
}
