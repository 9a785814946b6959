// Hostile uploads: truncated and malformed multipart bodies, sent raw, must each end their own request
// with a 4xx (never a 5xx, never the process). The server answers a normal request after every one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { getJson, startTestServer } from './harness.ts';

function send(url: string, path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A deterministic generator, so a failure names a body that can be sent again. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PNG_START = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

function wellFormed(boundary: string): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="subfolder"\r\n\r\nx\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n`),
    PNG_START,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

test('the ~100-byte upload whose file part ends early is a 400, and the server lives on', async () => {
  const server = await startTestServer();
  try {
    const body = Buffer.concat([Buffer.from('--b\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\n\r\n'), Buffer.from([0x89, 0x50, 0x4e, 0x47])]);
    for (const path of ['/upload/image', '/api/upload/image', '/upload/mask']) {
      assert.equal(await send(server.url, path, { 'content-type': 'multipart/form-data; boundary=b' }, body), 400, path);
    }
    assert.ok(await getJson(`${server.url}/system_stats`));
  } finally {
    await server.close();
  }
});

test('fuzz: every truncation and random corruption of an upload body gets a 4xx or a 200, never a 5xx or a crash', { timeout: 120_000 }, async () => {
  const server = await startTestServer();
  try {
    const boundary = 'fuzzboundary';
    const full = wellFormed(boundary);
    const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };
    const bodies: Buffer[] = [];
    for (let cut = 0; cut < full.length; cut += 3) bodies.push(full.subarray(0, cut));
    const random = rng(12345);
    for (let i = 0; i < 150; i++) {
      const body = Buffer.from(full);
      const flips = 1 + Math.floor(random() * 6);
      for (let f = 0; f < flips; f++) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      bodies.push(random() < 0.5 ? body : body.subarray(0, Math.floor(random() * body.length)));
    }
    for (const [i, body] of bodies.entries()) {
      const status = await send(server.url, '/upload/image', headers, body);
      assert.ok(status === 200 || (status >= 400 && status < 500), `body ${i} (${body.length} bytes): ${status}`);
    }
    // Malformed envelopes: bad boundary, no boundary, wrong content type, garbage headers.
    const envelopes: [Record<string, string>, Buffer][] = [
      [{ 'content-type': 'multipart/form-data' }, full],
      [{ 'content-type': 'multipart/form-data; boundary=' }, full],
      [{ 'content-type': 'multipart/form-data; boundary=other' }, full],
      [{ 'content-type': `multipart/form-data; boundary=${'x'.repeat(5000)}` }, full],
      [{ 'content-type': 'text/plain' }, full],
      [headers, Buffer.from(`--${boundary}\r\n${'h: v\r\n'.repeat(5000)}\r\n`)],
      [headers, Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="${'a'.repeat(70_000)}.png"\r\n\r\nabc\r\n--${boundary}--\r\n`)],
    ];
    for (const [i, [h, body]] of envelopes.entries()) {
      const status = await send(server.url, '/upload/image', h, body);
      assert.ok(status >= 400 && status < 500, `envelope ${i}: ${status}`);
    }
    assert.ok(await getJson(`${server.url}/system_stats`));
  } finally {
    await server.close();
  }
});
