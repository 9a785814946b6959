// Fuzzes the upload parser through a real server (issue #12 item 1): truncated, corrupted and
// malformed multipart bodies, and clients that hang up mid-upload, must each end one request with
// a 4xx; the server must stay up and keep answering.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import sharp from 'sharp';
import { getJson, startTestServer, type TestServer } from './harness.ts';

/** Small deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY = 'fuzzb';

function multipart(png: Buffer, boundary = BOUNDARY): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="fuzz.png"\r\ncontent-type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

async function post(url: string, body: Buffer, type = `multipart/form-data; boundary=${BOUNDARY}`): Promise<number> {
  const res = await fetch(`${url}/upload/image`, { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(body) });
  await res.arrayBuffer();
  return res.status;
}

/** Sends headers promising `declared` bytes, then only `body`, then closes the socket. */
function hangUp(url: string, body: Buffer, declared: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /upload/image HTTP/1.1\r\nHost: ${hostname}:${port}\r\ncontent-type: multipart/form-data; boundary=${BOUNDARY}\r\ncontent-length: ${declared}\r\n\r\n`);
      socket.end(body);
    });
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
  });
}

describe('hostile multipart uploads', () => {
  let server: TestServer;
  let full: Buffer;
  before(async () => {
    server = await startTestServer();
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#369' } }).png().toBuffer();
    full = multipart(png);
  });
  after(() => server?.close());

  test('the issue reproduction: a file part that ends early is a 400', async () => {
    const body = Buffer.from(`--b\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG`, 'latin1');
    assert.equal(await post(server.url, body, 'multipart/form-data; boundary=b'), 400);
  });

  test('every truncation of a valid upload is a 4xx', async () => {
    const closing = full.lastIndexOf(`--${BOUNDARY}--`);
    let rejected = 0;
    // Every cut point through the headers and the closing delimiter, a stride through the image bytes.
    for (let cut = 0; cut < closing + BOUNDARY.length + 4; cut += cut < 200 || cut > closing - 8 ? 1 : 7) {
      const status = await post(server.url, full.subarray(0, cut));
      assert.ok(status >= 400 && status < 500, `a body cut at ${cut} of ${full.length} bytes answered ${status}`);
      rejected++;
    }
    assert.ok(rejected > 200, `only ${rejected} cuts tried`);
    assert.equal(await post(server.url, full), 200, 'the uncut body still uploads');
  });

  test('random corruption never answers 5xx and never stops the server', async () => {
    const random = prng(12);
    for (let round = 0; round < 150; round++) {
      const body = Buffer.from(full);
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      const cut = random() < 0.5 ? body.length : Math.floor(random() * body.length);
      const status = await post(server.url, body.subarray(0, cut));
      assert.ok(status < 500, `round ${round} (seed 12) answered ${status}`);
    }
  });

  test('malformed framing is a 4xx', async () => {
    const cases: [string, Buffer][] = [
      ['multipart/form-data', full],
      [`multipart/form-data; boundary=`, full],
      [`multipart/form-data; boundary=${'x'.repeat(200)}`, full],
      [`multipart/form-data; boundary=other`, full],
      [`multipart/form-data; boundary=${BOUNDARY}`, Buffer.alloc(0)],
      [`multipart/form-data; boundary=${BOUNDARY}`, Buffer.from(`--${BOUNDARY}--\r\n`)],
      [`multipart/form-data; boundary=${BOUNDARY}`, Buffer.from(`--${BOUNDARY}\r\n${'x-h: y\r\n'.repeat(5000)}\r\n`)],
      [`multipart/form-data; boundary=${BOUNDARY}`, Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\n`)],
      [`multipart/form-data; boundary=${BOUNDARY}`, Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc\r\n--${BOUNDARY}`)],
      ['application/json', full],
    ];
    for (const [type, body] of cases) {
      const status = await post(server.url, body, type);
      assert.ok(status >= 400 && status < 500, `${type} with ${body.length} bytes answered ${status}`);
    }
  });

  test('clients that hang up mid-upload leave the server answering', async () => {
    for (const cut of [0, 10, 80, 130, full.length - 20]) await hangUp(server.url, full.subarray(0, cut), full.length);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stats = await getJson(`${server.url}/system_stats`);
    assert.ok(stats.system);
    assert.equal(await post(server.url, full), 200);
  });
});
