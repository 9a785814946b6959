// Gatekeeping decisions for HTTP and websocket requests (token, Origin vs Host, loopback Host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { checkRequest, isLoopback, type SecurityOptions } from './security.ts';

function req(headers: Record<string, string>, url = '/prompt'): IncomingMessage {
  return { headers, url } as unknown as IncomingMessage;
}

const open: SecurityOptions = { allowOrigins: [], bindHost: '127.0.0.1' };

test('loopback names', () => {
  for (const name of ['localhost', '127.0.0.1', '127.8.9.1', '::1', '[::1]', 'app.localhost']) assert.ok(isLoopback(name), name);
  for (const name of ['0.0.0.0', '192.168.1.2', 'example.com', 'localhost.example.com', '::']) assert.ok(!isLoopback(name), name);
});

test('same-origin and origin-less requests pass; a foreign origin is refused with a hint', () => {
  assert.deepEqual(checkRequest(req({ host: '127.0.0.1:8188' }), open), { ok: true });
  assert.deepEqual(checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://127.0.0.1:8188' }), open), { ok: true });
  // ports are compared only when both sides carry one (§1.1)
  assert.deepEqual(checkRequest(req({ host: 'localhost', origin: 'http://localhost:5173' }), open), { ok: true });
  const foreign = checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://evil.example' }), open);
  assert.equal(foreign.ok, false);
  assert.ok(!foreign.ok && foreign.status === 403 && /--allow-origin http:\/\/evil.example/.test(foreign.message));
  assert.equal(checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://localhost:9999' }), open).ok, false);
  assert.equal(checkRequest(req({ host: '127.0.0.1:8188', origin: 'null' }), open).ok, false);
});

test('on a loopback bind a non-loopback Host (DNS rebinding) is refused; exposed, only IPs, this machine and --allow-host names', () => {
  assert.equal(checkRequest(req({ host: 'rebind.example:8188' }), open).ok, false);
  const exposed: SecurityOptions = { ...open, bindHost: '0.0.0.0', authToken: 't' };
  const withToken = (host: string) => req({ host, authorization: 'Bearer t' });
  const refused = checkRequest(withToken('rebind.example:8188'), exposed);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.message, /--allow-host rebind\.example/);
  for (const host of ['10.1.2.3:8188', '[fe80::1]:8188', 'localhost:8188', `${hostname()}:8188`]) assert.equal(checkRequest(withToken(host), exposed).ok, true, host);
  assert.equal(checkRequest(withToken('studio.example:8188'), { ...exposed, allowHosts: ['Studio.example'] }).ok, true);
  assert.equal(checkRequest(withToken('other.example:8188'), { ...exposed, allowHosts: ['studio.example'] }).ok, false);
  assert.equal(checkRequest(withToken('any.example'), { ...exposed, allowHosts: ['*'] }).ok, true);
});

test('allowed origins pass, "*" allows any', () => {
  const options = { ...open, allowOrigins: ['http://app.example'] };
  assert.equal(checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://app.example' }), options).ok, true);
  assert.equal(checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://other.example' }), options).ok, false);
  assert.equal(checkRequest(req({ host: '127.0.0.1:8188', origin: 'http://x.example' }), { ...open, allowOrigins: ['*'] }).ok, true);
});

test('token: header, query or cookie; anything else is 401', () => {
  const options = { ...open, authToken: 'abc' };
  const host = { host: '127.0.0.1:8188' };
  assert.equal(checkRequest(req(host), options).ok, false);
  assert.deepEqual(checkRequest(req({ ...host, authorization: 'Bearer abc' }), options), { ok: true });
  assert.equal(checkRequest(req({ ...host, authorization: 'Bearer abcd' }), options).ok, false);
  assert.equal(checkRequest(req({ ...host, authorization: 'Basic abc' }), options).ok, false);
  assert.deepEqual(checkRequest(req(host, '/view?filename=a.png&token=abc'), options), { ok: true });
  assert.deepEqual(checkRequest(req({ ...host, cookie: 'x=1; invgraph_token=abc' }), options), { ok: true });
  const refused = checkRequest(req(host), options);
  assert.ok(!refused.ok && refused.status === 401);
});
