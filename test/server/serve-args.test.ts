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
  assert.equal(options.interruptGraceMs, undefined);
  assert.equal(parseServeArgs(['--interrupt-grace-s', '0.5']).interruptGraceMs, 500);
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

test('prompt limits come from --max-image-pixels, --max-batch-pixels and --max-steps (0 = off)', () => {
  const options = parseServeArgs(['--max-image-pixels', '1048576', '--max-batch-pixels', '0', '--max-steps', '200']);
  assert.deepEqual(options.limits?.prompt, { maxImagePixels: 1048576, maxBatchPixels: 0, maxSteps: 200 });
  assert.deepEqual(parseServeArgs([]).limits?.prompt, {});
  assert.throws(() => parseServeArgs(['--max-steps=-1']), /--max-steps must be an integer/);
});

test('--max-decode-pixels sets the decode limit for the process and its execution threads', () => {
  const saved = process.env.INVGRAPH_MAX_DECODE_PIXELS;
  try {
    parseServeArgs(['--max-decode-pixels', '1000000']);
    assert.equal(process.env.INVGRAPH_MAX_DECODE_PIXELS, '1000000');
    assert.throws(() => parseServeArgs(['--max-decode-pixels', 'lots']), /--max-decode-pixels must be a positive integer, got "lots"/);
  } finally {
    if (saved === undefined) delete process.env.INVGRAPH_MAX_DECODE_PIXELS;
    else process.env.INVGRAPH_MAX_DECODE_PIXELS = saved;
  }
});

test('--preview-method sets the samplers\' previews for the process and its execution processes; unknown names are refused', () => {
  const saved = process.env.INVGRAPH_PREVIEW_METHOD;
  try {
    parseServeArgs(['--preview-method', 'taesd']);
    assert.equal(process.env.INVGRAPH_PREVIEW_METHOD, 'taesd');
    assert.throws(() => parseServeArgs(['--preview-method', 'taesdd']), /--preview-method .*"taesdd": choose one of auto, latent2rgb, taesd, none/);
  } finally {
    if (saved === undefined) delete process.env.INVGRAPH_PREVIEW_METHOD;
    else process.env.INVGRAPH_PREVIEW_METHOD = saved;
  }
});

test('run and serve both accept --output and --out; different folders in both is refused', async () => {
  const { parseRunArgs } = await import('../../cli/run.ts');
  const { resolve } = await import('node:path');
  assert.equal(parseServeArgs(['--out', 'o1']).output, 'o1');
  assert.equal(parseServeArgs(['--output', 'o2']).output, 'o2');
  assert.equal(parseRunArgs(['w.json', '--output', 'o3']).folders.output, resolve('o3'));
  assert.equal(parseRunArgs(['w.json', '--out', 'o4']).folders.output, resolve('o4'));
  assert.equal(parseRunArgs(['w.json']).folders.output, resolve('output'));
  assert.throws(() => parseRunArgs(['w.json', '--out', 'a', '--output', 'b']), /--output b and --out a name different folders/);
  assert.throws(() => parseServeArgs(['--out', 'a', '--output', 'b']), /name different folders/);
});

test('serve --help and run --help print every flag and exit 0', async () => {
  const { main } = await import('../../cli/main.ts');
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
  let codes: number[];
  try {
    codes = [await main(['serve', '--help']), await main(['run', '-h'])];
  } finally {
    process.stdout.write = write;
  }
  assert.deepEqual(codes, [0, 0]);
  const text = printed.join('');
  for (const flag of ['--temp', '--allow-origin', '--history-max', '--interrupt-grace-s', '--max-upload-mb', '--max-prompt-mb', '--max-steps', '--max-decode-pixels', '--preview-method', '--insecure-no-auth', '--output DIR']) {
    assert.ok(text.includes(flag), `help lacks ${flag}`);
  }
});
