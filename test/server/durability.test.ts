// Crash durability: a server in a child process is killed with SIGKILL while running the first
// of 5 queued prompts; after a restart on the same folders every prompt completes exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getJson, makeDirs, queuePrompt, workPrompt, WsClient } from './harness.ts';

const CHILD = new URL('./serve-child.ts', import.meta.url).pathname;

async function startChild(root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server child did not start within 20 s')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  return { child, url };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('kill -9 during a job: after restart all 5 prompts complete exactly once', { timeout: 60_000 }, async () => {
  const dirs = makeDirs();
  let current: ChildProcess | undefined;
  try {
    const first = await startChild(dirs.root);
    current = first.child;
    const ws = await WsClient.connect(first.url, 'durable');
    const tags = ['slow', 'b', 'c', 'd', 'e'];
    const ids: string[] = [];
    for (const tag of tags) {
      const prompt = workPrompt(tag === 'slow' ? { tag, ms: 2000, steps: 40, value: 1 } : { tag, value: ids.length + 10 });
      ids.push(await queuePrompt(first.url, prompt, 'durable'));
    }
    await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === ids[0]);
    ws.close();
    await killHard(first.child);

    const second = await startChild(dirs.root);
    current = second.child;
    const deadline = Date.now() + 30_000;
    let history: Record<string, any> = {};
    while (Date.now() < deadline) {
      history = await getJson(`${second.url}/history`);
      if (Object.keys(history).length === ids.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(Object.keys(history).sort(), [...ids].sort());
    for (const id of ids) assert.equal(history[id].status.status_str, 'success', id);
    // The first prompt re-ran from the start: its side effect happened once, as did the others'.
    for (const tag of tags) assert.equal(readFileSync(join(dirs.output, `${tag}.txt`), 'utf8').trim().split('\n').length, 1, tag);
    assert.deepEqual(await getJson(`${second.url}/queue`), { queue_running: [], queue_pending: [] });
    await killHard(second.child);
    current = undefined;
  } finally {
    if (current && current.exitCode === null) await killHard(current);
    rmSync(dirs.root, { recursive: true, force: true });
  }
});
