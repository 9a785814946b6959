// `invgraph serve` flags → serve() options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExposure, parseServeArgs, serve } from '../../cli/serve.ts';

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

test('an exposed bind needs a token (or --insecure-no-auth); an empty token is refused', async () => {
  const saved = process.env.INVGRAPH_AUTH_TOKEN;
  delete process.env.INVGRAPH_AUTH_TOKEN;
  try {
    await assert.rejects(serve({ host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0 without an access token.*--insecure-no-auth/);
    await assert.rejects(serve({ host: '127.0.0.1', port: 0, authToken: '' }), /--auth-token must not be empty/);
    assert.doesNotThrow(() => checkExposure('0.0.0.0', 'secret', {}));
    assert.doesNotThrow(() => checkExposure('0.0.0.0', undefined, { insecureNoAuth: true }));
    assert.doesNotThrow(() => checkExposure('::1', undefined, {}));
    const options = parseServeArgs(['--host', '0.0.0.0', '--insecure-no-auth', '--allow-host', 'studio.lan', '--max-prompt-mb', '2']);
    assert.equal(options.insecureNoAuth, true);
    assert.deepEqual(options.allowHosts, ['studio.lan']);
    assert.equal(options.limits?.maxBodyBytes, 2 * 1024 * 1024);
  } finally {
    if (saved !== undefined) process.env.INVGRAPH_AUTH_TOKEN = saved;
  }
});
