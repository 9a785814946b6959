// Request gatekeeping shared by HTTP routes and the websocket upgrade: optional bearer token,
// and ComfyUI's cross-origin protection (comfyui-api.md §1.1) tightened against DNS rebinding.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export interface SecurityOptions {
  /** When set, every request must carry it (Bearer header, `?token=` or the session cookie). */
  authToken?: string;
  /** Origins allowed besides the server's own (`*` = any); they also get CORS headers. */
  allowOrigins: readonly string[];
  /** The address the server listens on; a loopback bind also checks the Host header. */
  bindHost: string;
  /** Host names (DNS names) an exposed server answers to besides IP addresses, loopback names and
   *  this machine's name (`serve --allow-host`); `*` allows any. */
  allowHosts?: readonly string[];
}

export const TOKEN_COOKIE = 'invgraph_token';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function checkRequest(req: IncomingMessage, options: SecurityOptions): Verdict {
  const origin = checkOrigin(req, options);
  if (!origin.ok) return origin;
  if (options.authToken !== undefined && !hasToken(req, options.authToken)) {
    return {
      ok: false,
      status: 401,
      message: 'This server requires an access token: send "Authorization: Bearer <token>" or add ?token=<token> to the URL.',
    };
  }
  return { ok: true };
}

/** The token the request authenticated with via `?token=`, so the caller can set the cookie. */
export function queryToken(req: IncomingMessage): string | undefined {
  const url = new URL(req.url ?? '/', 'http://x');
  return url.searchParams.get('token') ?? undefined;
}

function hasToken(req: IncomingMessage, expected: string): boolean {
  const header = req.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  const candidates = [bearer, queryToken(req), cookieValue(req, TOKEN_COOKIE)];
  return candidates.some((candidate) => candidate !== undefined && sameSecret(candidate, expected));
}

/** Constant-time comparison of hashes, so neither content nor length leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** A browser request whose Origin differs from Host is refused unless that origin is allowed;
 *  on a loopback bind the Host itself must be a loopback name (blocks DNS rebinding). */
function checkOrigin(req: IncomingMessage, options: SecurityOptions): Verdict {
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (host !== undefined && isLoopback(options.bindHost) && !isLoopback(hostnameOf(host)) && !originAllowed(`http://${host}`, options)) {
    return { ok: false, status: 403, message: `Host "${host}" is not a loopback name; this server listens on ${options.bindHost} only.` };
  }
  if (host !== undefined && !isLoopback(options.bindHost) && !hostAllowed(hostnameOf(host), options) && !originAllowed(`http://${host}`, options)) {
    return {
      ok: false,
      status: 403,
      message: `Host "${host}" is not a name this server answers to (DNS rebinding protection); start it with --allow-host ${hostnameOf(host)} to permit it.`,
    };
  }
  if (origin === undefined || host === undefined) return { ok: true };
  if (originAllowed(origin, options)) return { ok: true };
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return { ok: false, status: 403, message: `Origin "${origin}" is not a valid origin.` };
  }
  if (sameHost(originHost, host)) return { ok: true };
  return {
    ok: false,
    status: 403,
    message: `Request from origin "${origin}" to host "${host}" refused; start the server with --allow-origin ${origin} to permit it.`,
  };
}

/** On an exposed bind: IP addresses (no rebinding through a literal), loopback names, this machine's
 *  name and the names given with --allow-host. A rebinding attack needs a DNS name it controls. */
function hostAllowed(name: string, options: SecurityOptions): boolean {
  const lower = name.toLowerCase();
  if (isIP(lower) !== 0 || isLoopback(lower)) return true;
  const allowed = options.allowHosts ?? [];
  if (allowed.includes('*') || allowed.some((h) => h.toLowerCase() === lower)) return true;
  const machine = hostname().toLowerCase();
  return lower === machine || lower.split('.')[0] === machine;
}

export function originAllowed(origin: string, options: SecurityOptions): boolean {
  return options.allowOrigins.includes('*') || options.allowOrigins.includes(origin.replace(/\/$/, ''));
}

/** Host and Origin match on hostname; ports are compared only when both carry one (§1.1). */
function sameHost(originHost: string, host: string): boolean {
  const [aName, aPort] = splitHost(originHost);
  const [bName, bPort] = splitHost(host);
  if (aName.toLowerCase() !== bName.toLowerCase()) return false;
  return aPort === undefined || bPort === undefined || aPort === bPort;
}

function splitHost(host: string): [string, string | undefined] {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return match ? [match[1], match[2]] : [host, undefined];
}

function hostnameOf(host: string): string {
  return splitHost(host)[0].replace(/^\[|\]$/g, '');
}

export function isLoopback(hostname: string): boolean {
  const name = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}
