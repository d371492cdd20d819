import { isIP } from 'node:net';

/**
 * Which proxies may tell the server the client's address (`X-Forwarded-For`): none, the nearest N hops, or the
 * proxies' own addresses / CIDRs. A bare `true` is refused: it would take the leftmost `X-Forwarded-For` entry,
 * which the client writes itself, so one client could pose as any number of addresses.
 */
export type TrustProxy = false | number | readonly string[];

/** Names proxy-addr (Fastify's resolver) understands besides addresses and CIDRs. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_HOPS = 10;

export function parseTrustProxy(
  value: unknown,
): { ok: true; value: TrustProxy } | { ok: false; problem: string } {
  if (
    value === undefined ||
    value === false ||
    value === '' ||
    value === 'false' ||
    value === '0' ||
    value === 0
  )
    return { ok: true, value: false };
  if (value === true || (typeof value === 'string' && /^(true|yes|on)$/i.test(value.trim()))) {
    return {
      ok: false,
      problem:
        'a bare true would trust the client-supplied leftmost X-Forwarded-For; give the number of proxy hops ' +
        'or the proxies\u2019 addresses / CIDRs (e.g. 10.0.0.0/8,127.0.0.1)',
    };
  }
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string' && /^\s*\d+\s*$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) return { ok: false, problem: `a hop count is 0 to ${MAX_HOPS}` };
    return { ok: true, value: hops === 0 ? false : hops };
  }
  const entries = (Array.isArray(value) ? value : String(text).split(','))
    .map((s) => String(s).trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (entries.length === 0 || bad.length > 0)
    return { ok: false, problem: `not an address or CIDR: ${bad.join(', ') || '(empty)'}` };
  return { ok: true, value: entries };
}

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * The `trustProxy` option for Fastify. A hop count becomes a function: Fastify 5 answers a plain number with
 * "trust nothing" (it cannot check the nearest peer), which would give every client the proxy's address.
 */
export function fastifyTrustProxy(
  trust: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust;
  return [...trust];
}
