// `invgraph convert` as a user runs it: the API prompt on stdout, and on stderr each node whose
// type this install lacks and whose widget values were therefore dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/invgraph.mjs');

test('convert warns about each unknown node whose widget values it dropped, and fills defaults of nodes saved without values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-convert-'));
  try {
    const workflow = {
      version: 0.4,
      nodes: [
        { id: 5, type: 'EmptyLatentImage', outputs: [{ name: 'LATENT', type: 'LATENT', links: [1] }] },
        { id: 6, type: 'FancyLatentUpscaler', inputs: [{ name: 'samples', type: 'LATENT', link: 1 }], outputs: [{ name: 'LATENT', type: 'LATENT', links: [] }], widgets_values: ['4x', 1.5] },
        { id: 7, type: 'OtherCustomNode', widgets_values: [] },
        { id: 8, type: 'Note', widgets_values: ['notes are editor-only'] },
      ],
      links: [[1, 5, 0, 6, 0, 'LATENT']],
    };
    const file = join(dir, 'custom.json');
    writeFileSync(file, JSON.stringify(workflow));
    const run = spawnSync(process.execPath, [BIN, 'convert', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const prompt = JSON.parse(run.stdout);
    assert.deepEqual(prompt['5'].inputs, { width: 512, height: 512, batch_size: 1 });
    assert.deepEqual(prompt['6'].inputs, { samples: ['5', 0] });
    const warnings = run.stderr.trim().split('\n');
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0], /warning: node 6 \(FancyLatentUpscaler\): unknown node type, so its widget values \["4x",1\.5\] were dropped/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
