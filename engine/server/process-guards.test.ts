import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

// In a child process: an error thrown from a timer and a promise nobody awaits would each end
// the process without the guards; with them both are logged and the process runs to its end.
test('escaped errors are logged with their stack and the process keeps running', () => {
  const script = `
    import { installProcessGuards } from ${JSON.stringify(new URL('./process-guards.ts', import.meta.url).href)};
    const guards = installProcessGuards((m) => console.log(m.split('\\n')[0]));
    setTimeout(() => { throw new Error('thrown from a timer'); }, 1);
    Promise.reject(new Error('nobody awaited this'));
    setTimeout(() => console.log('still running after', guards.count, 'errors'), 50);
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /BUG: uncaught exception .*thrown from a timer/);
  assert.match(result.stdout, /BUG: unhandled promise rejection .*nobody awaited this/);
  assert.match(result.stdout, /still running after 2 errors/);
});
