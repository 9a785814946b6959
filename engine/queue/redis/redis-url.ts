// `--queue redis://[user:password@]HOST[:6379][/DB]` (rediss:// for TLS) → the connection
// options BullMQ and ioredis take. Checked once at the edge, with the bad part named.

/** Where Redis is: what both ioredis and BullMQ connect with. */
export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
}

export function parseRedisUrl(text: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--queue ${JSON.stringify(text)} is not a URL; use redis://HOST:6379 or redis://HOST:6379/DB`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`--queue ${JSON.stringify(text)}: only redis:// and rediss:// queues exist (got ${url.protocol})`);
  }
  if (url.hostname === '') throw new Error(`--queue ${JSON.stringify(text)} names no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw new Error(`--queue ${JSON.stringify(text)}: the path must be a database number, got "/${path}"`);
  const options: RedisAddress = { host: url.hostname.replace(/^\[|\]$/g, ''), port, db: path === '' ? 0 : Number(path) };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = {};
  return options;
}
