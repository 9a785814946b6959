// `invgraph serve` flags → serve() options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../cli/serve.ts';

test('flags map to options', () => {
  const options = parseServeArgs(['--port', '9000', '--auth-token', 't', '--allow-origin', 'http://a', '--allow-origin', 'http://b', '--history-max', '50', '--max-upload-mb', '8']);
  assert.equal(options.port, 9000);
  assert.equal(options.authToken, 't');
  assert.deepEqual(options.allowOrigins, ['http://a', 'http://b']);
  assert.equal(options.historyMax, 50);
  assert.equal(options.limits?.maxUploadBytes, 8 * 1024 * 1024);
  assert.equal(options.host, undefined);
});

test('bad values name the flag', () => {
  assert.throws(() => parseServeArgs(['--port', 'eighty']), /--port must be an integer from 0 to 65535, got "eighty"/);
  assert.throws(() => parseServeArgs(['--history-max', '0']), /--history-max/);
  assert.throws(() => parseServeArgs(['--nope']), /nope/);
  assert.throws(() => parseServeArgs(['extra']), /unexpected argument "extra"/);
});
