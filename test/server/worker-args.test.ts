// `invgraph worker` and `invgraph serve --queue` flags → options; bad values name the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../cli/serve.ts';
import { parseWorkerArgs } from '../../cli/worker.ts';

test('worker flags map to options', () => {
  const options = parseWorkerArgs(['--queue', 'redis://10.0.0.5:6380/2', '--device', 'cuda:1', '--models', 'm', '--output', 'o', '--concurrency', '2', '--keep-checkpoints', '1', '--interrupt-grace-s', '2.5']);
  assert.deepEqual(options, {
    queue: 'redis://10.0.0.5:6380/2',
    device: 'cuda:1',
    models: 'm',
    extraModelPaths: undefined,
    input: undefined,
    output: 'o',
    temp: undefined,
    concurrency: 2,
    keepCheckpoints: 1,
    upload: undefined,
    interruptGraceMs: 2500,
  });
  const uploading = parseWorkerArgs(['--queue', 'redis://h', '--upload-to', 'http://10.0.0.2:8188', '--auth-token', 'tok']);
  assert.deepEqual(uploading.upload, { url: 'http://10.0.0.2:8188', token: 'tok' });
  assert.throws(() => parseWorkerArgs(['--queue', 'redis://h', '--upload-to', 'ftp://x']), /--upload-to must be the server's http\(s\):\/\/ URL/);
});

test('worker: --queue is required and checked; numbers are bounded', () => {
  assert.throws(() => parseWorkerArgs([]), /--queue redis:\/\/HOST:6379 is required/);
  assert.throws(() => parseWorkerArgs(['--queue', 'http://x']), /only redis:\/\/ and rediss:\/\//);
  assert.throws(() => parseWorkerArgs(['--queue', 'redis://x', '--concurrency', '0']), /--concurrency must be an integer from 1 to 64, got "0"/);
  assert.throws(() => parseWorkerArgs(['--queue', 'redis://x', 'extra']), /unexpected argument "extra"/);
  for (const bad of ['0', 'abc', '', '4000']) {
    assert.throws(() => parseWorkerArgs(['--queue', 'redis://x', '--interrupt-grace-s', bad]), /--interrupt-grace-s must be a number of seconds from 0.1 to 3600/);
  }
});

test('serve --queue takes a Redis URL and refuses anything else', () => {
  assert.equal(parseServeArgs(['--queue', 'redis://127.0.0.1:6379']).queue, 'redis://127.0.0.1:6379');
  assert.equal(parseServeArgs([]).queue, undefined);
  assert.throws(() => parseServeArgs(['--queue', 'sqlite://x']), /only redis:\/\//);
});
