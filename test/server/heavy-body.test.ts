// Heavy JSON bodies with the default limits: a prompt just under the limit is read without stalling the
// server (a websocket client stays connected and is answered), one over it is refused with 413 before
// it is read, and a body nested deeper than any prompt is a 400, not a 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { DEFAULT_LIMITS } from '../../engine/server/index.ts';
import { startTestServer, WsClient, workPrompt } from './harness.ts';

function post(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve({ status: -1, text: error.code }) : reject(error)));
    req.end(body);
  });
}

/** A valid prompt padded with an extra_data string to about `bytes`. */
function paddedPrompt(bytes: number): Buffer {
  const base = JSON.stringify({ prompt: workPrompt({ tag: 'heavy' }), extra_data: { note: '' } });
  return Buffer.from(JSON.stringify({ prompt: workPrompt({ tag: 'heavy' }), extra_data: { note: 'x'.repeat(bytes - base.length) } }));
}

test('default body limits: a prompt at the limit is read while websockets stay served; beyond it 413; too deep 400', { timeout: 120_000 }, async () => {
  const server = await startTestServer();
  const ws = await WsClient.connect(server.url, 'watcher');
  try {
    const limit = DEFAULT_LIMITS.maxBodyBytes;
    assert.ok(limit <= 16 * 1024 * 1024, 'the default stays a few MB');
    let closed = false;
    ws.socket.on('close', () => (closed = true));
    const atLimit = await post(server.url, paddedPrompt(limit - 1024));
    assert.equal(atLimit.status, 200, atLimit.text);
    const over = await post(server.url, paddedPrompt(limit + 1024 * 1024));
    assert.ok(over.status === 413 || over.status === -1, `over the limit: ${over.status}`);
    // The 40 MB body that used to exhaust the heap.
    const huge = await post(server.url, paddedPrompt(40 * 1024 * 1024));
    assert.ok(huge.status === 413 || huge.status === -1, `40 MB: ${huge.status}`);
    const deep = await post(server.url, Buffer.from(`{"prompt": ${JSON.stringify(workPrompt())}, "extra_data": ${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`));
    assert.equal(deep.status, 400, deep.text);
    assert.match(deep.text, /nested too deeply/);
    // The websocket survived and the server still answers it.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(closed, false, 'the websocket was dropped');
    const pong = new Promise<void>((resolve) => ws.socket.once('pong', () => resolve()));
    ws.socket.ping();
    await pong;
  } finally {
    ws.close();
    await server.close();
  }
});

test('a validation error that carries big integers (a SEED input\'s max) answers JSON, never an HTML stack trace', async () => {
  const server = await startTestServer();
  try {
    for (const seed of ['-1', '18446744073709551616', '"abc"']) {
      const prompt = JSON.stringify(workPrompt()).replace('"class_type":"FakeNumber","inputs":{', `"class_type":"FakeNumber","inputs":{"seed":${seed},`);
      const res = await post(server.url, Buffer.from(`{"prompt": ${prompt}}`));
      assert.equal(res.status, 400, res.text);
      assert.doesNotMatch(res.text, /<html|node_modules|\/work\//i);
      assert.match(res.text, /18446744073709551615/, 'the max is written exactly');
      assert.equal(JSON.parse(res.text).error.type, 'prompt_outputs_failed_validation');
    }
  } finally {
    await server.close();
  }
});

test('a prompt setting an input its node does not have is accepted (as ComfyUI does) with a warning naming it', async () => {
  const server = await startTestServer();
  try {
    const prompt = workPrompt();
    (prompt['2'].inputs as Record<string, unknown>).stepz = 5;
    const res = await post(server.url, Buffer.from(JSON.stringify({ prompt })));
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text);
    assert.deepEqual(body.warnings, ['node 2 (FakeWork) has no input "stepz" (did you mean "steps"?); it is ignored']);
    const clean = JSON.parse((await post(server.url, Buffer.from(JSON.stringify({ prompt: workPrompt() })))).text);
    assert.equal(clean.warnings, undefined);
  } finally {
    await server.close();
  }
});
