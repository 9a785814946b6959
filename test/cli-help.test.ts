// Every `invgraph` command answers --help with its usage on stdout and exit code 0, and a mistyped flag with
// one line naming it plus the usage (exit 2), never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const bin = new URL('../bin/invgraph.mjs', import.meta.url).pathname;
const invgraph = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

for (const command of ['run', 'convert', 'serve', 'worker']) {
  test(`invgraph ${command} --help prints its usage`, () => {
    const result = invgraph(command, '--help');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`invgraph ${command} `));
    assert.equal(result.stderr, '');
  });

  test(`invgraph ${command} with an unknown flag names it without a stack trace`, () => {
    const result = invgraph(command, '--no-such-flag');
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--no-such-flag/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace was printed');
  });
}
