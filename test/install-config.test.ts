// Install configuration: onnxruntime-node's CUDA download stays opt-in, and npm warns about nothing on each call
// (issue #12: a custom key in .npmrc made npm 11 print "Unknown project config" on every npm/npx command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

test('package.json allows no install script of onnxruntime-node (its CUDA download is opt-in)', () => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { allowScripts?: Record<string, boolean> };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
});

test('npm reads the project configuration without a warning', () => {
  const run = spawnSync('npm', ['config', 'get', 'fund'], { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' } });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /warn/i, 'npm printed a warning for the project configuration');
});
