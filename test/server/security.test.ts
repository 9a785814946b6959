// Path confinement (≥10 traversal variants), bearer token on HTTP and websocket, origin and
// Host checks, body/upload/pixel limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { getJson, postJson, startTestServer, WsClient, type TestServer } from './harness.ts';

const SECRET = 'top secret outside every folder';

async function upload(url: string, filename: string, data: Buffer, fields: Record<string, string> = {}, path = '/upload/image'): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('image', new Blob([new Uint8Array(data)], { type: 'image/png' }), filename);
  return fetch(`${url}${path}`, { method: 'POST', body: form });
}

/** GET with headers fetch will not let us set (Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A valid PNG header claiming width×height, with a tiny body: a decompression-bomb stand-in. */
function claimedPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

describe('file names stay inside their folders', () => {
  let server: TestServer;
  let png: Buffer;
  before(async () => {
    server = await startTestServer({ limits: { maxUploadBytes: 64 * 1024, maxBodyBytes: 16 * 1024, maxUploadPixels: 512 * 512 } });
    const { root, output, input } = server.dirs;
    writeFileSync(join(root, 'secret.txt'), SECRET);
    writeFileSync(join(root, 'secret.png'), SECRET);
    mkdirSync(output, { recursive: true });
    symlinkSync(root, join(output, 'escape-dir'));
    symlinkSync(join(root, 'secret.txt'), join(output, 'escape-file.txt'));
    symlinkSync(root, join(input, 'escape-in'));
    png = await sharp({ create: { width: 8, height: 8, channels: 4, background: '#0f08' } }).png().toBuffer();
  });
  after(() => server.close());

  const viewVariants: [string, number][] = [
    ['filename=../secret.txt', 400],
    ['filename=..%2Fsecret.txt', 400],
    ['filename=%2E%2E/secret.txt', 400],
    ['filename=/etc/passwd', 400],
    ['filename=..%5C..%5Csecret.txt', 400],
    ['filename=secret.txt%00.png', 400],
    ['filename=../secret.txt%20%5Binput%5D', 400],
    ['filename=secret.txt&subfolder=..', 403],
    ['filename=secret.txt&subfolder=../..', 403],
    ['filename=secret.txt&subfolder=%2Ftmp', 403],
    ['filename=secret.txt&subfolder=a/../../', 403],
    ['filename=secret.txt&subfolder=escape-dir', 403],
    ['filename=escape-file.txt', 400],
    ['filename=secret.txt&subfolder=..%5C', 403],
  ];
  for (const [query, status] of viewVariants) {
    test(`/view?${query} is refused with ${status}`, async () => {
      const res = await fetch(`${server.url}/view?${query}`);
      assert.equal(res.status, status);
      assert.ok(!(await res.text()).includes(SECRET));
    });
  }

  test('uploads refuse escaping subfolders and never write outside the folder', async () => {
    for (const subfolder of ['..', '../..', '/tmp', 'a/../../x', 'escape-in', 'x\\..\\..', 'nul\0']) {
      const res = await upload(server.url, 'up.png', png, { subfolder });
      assert.equal(res.status, 400, `subfolder ${JSON.stringify(subfolder)}`);
    }
    assert.equal((await upload(server.url, 'up.png', png, { type: 'models' })).status, 400);
    // busboy keeps only the base name of a client's path, so this lands inside input/
    const res = await upload(server.url, '../../outside.png', png);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { name: string }).name, 'outside.png');
    assert.ok(!readdirSync(server.dirs.root).includes('outside.png'));
  });

  test('mask uploads refuse an original outside the folder', async () => {
    for (const ref of [{ filename: '../secret.png' }, { filename: 'secret.png', subfolder: '../' }, { filename: '/etc/passwd' }]) {
      const res = await upload(server.url, 'mask.png', png, { original_ref: JSON.stringify(ref) }, '/upload/mask');
      assert.ok([400, 403].includes(res.status), `${JSON.stringify(ref)} → ${res.status}`);
    }
  });

  test('userdata refuses escaping names', async () => {
    for (const name of ['..%2Fsecret.txt', '..%2F..%2Fsecret.txt', '%2Fetc%2Fpasswd', 'a%5C..%5C..%5Csecret.txt']) {
      const res = await fetch(`${server.url}/userdata/${name}`);
      assert.equal(res.status, 400, name);
      assert.ok(!(await res.text()).includes(SECRET));
    }
    assert.equal((await fetch(`${server.url}/userdata?dir=..`)).status, 403);
  });

  test('body, upload and pixel limits answer 413', async () => {
    assert.equal((await postJson(`${server.url}/prompt`, { prompt: {}, pad: 'x'.repeat(20_000) })).status, 413);
    assert.equal((await upload(server.url, 'big.png', Buffer.alloc(100 * 1024, 1))).status, 413);
    const bomb = await upload(server.url, 'bomb.png', claimedPng(100_000, 100_000));
    assert.equal(bomb.status, 413);
    assert.match(((await bomb.json()) as { error: string }).error, /100000x100000/);
    const notImage = await upload(server.url, 'text.png', Buffer.from('hello'));
    assert.equal(notImage.status, 400);
    assert.ok(!readdirSync(server.dirs.input).includes('bomb.png'));
  });
});

describe('access token and origin checks', () => {
  const token = 's3cret-token';
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ authToken: token, allowOrigins: ['http://app.example'] });
  });
  after(() => server.close());

  test('every HTTP route needs the token: Bearer header, ?token= or the cookie ?token= sets', async () => {
    for (const path of ['/prompt', '/api/prompt', '/queue', '/object_info', '/view?filename=x.png', '/', '/internal/logs']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 401, path);
    }
    assert.equal((await fetch(`${server.url}/prompt`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${server.url}/prompt`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
    const viaQuery = await fetch(`${server.url}/prompt?token=${token}`);
    assert.equal(viaQuery.status, 200);
    const cookie = viaQuery.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.equal((await fetch(`${server.url}/queue`, { headers: { Cookie: cookie.split(';')[0] } })).status, 200);
  });

  test('the websocket needs the token too', async () => {
    await assert.rejects(WsClient.connect(server.url, 'anon'), /401/);
    await assert.rejects(WsClient.connect(server.url, 'anon', { Authorization: 'Bearer nope' }), /401/);
    const withHeader = await WsClient.connect(server.url, 'h', { Authorization: `Bearer ${token}` });
    assert.equal((await withHeader.waitFor(() => true)).type, 'status');
    withHeader.close();
    const withQuery = await WsClient.connect(server.url, 'q', {}, `token=${token}`);
    assert.equal((await withQuery.waitFor(() => true)).data.sid, 'q');
    withQuery.close();
  });

  test('foreign origins and non-loopback Host names are refused; allowed origins get CORS headers', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const port = new URL(server.url).port;
    assert.equal(await rawGet(`${server.url}/prompt`, { ...auth, Origin: 'http://evil.example' }), 403);
    assert.equal(await rawGet(`${server.url}/prompt`, { ...auth, Origin: `http://127.0.0.1:${port}` }), 200);
    assert.equal(await rawGet(`${server.url}/prompt`, { ...auth, Host: `evil.example:${port}` }), 403);
    assert.equal(await rawGet(`${server.url}/prompt`, { ...auth, Host: `localhost:${port}`, Origin: `http://localhost:${port}` }), 200);
    const allowed = await fetch(`${server.url}/prompt`, { headers: { ...auth, Origin: 'http://app.example' } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://app.example');
    await assert.rejects(WsClient.connect(server.url, 'o', { ...auth, Origin: 'http://evil.example' }), /403/);
  });

  test('without a token the server stays open on loopback (ComfyUI default)', async () => {
    const open = await startTestServer();
    try {
      assert.deepEqual(await getJson(`${open.url}/prompt`), { exec_info: { queue_remaining: 0 } });
    } finally {
      await open.close();
    }
  });
});
