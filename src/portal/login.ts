/**
 * Sign-in and sign-out. Thin: parse -> rate limits -> input check -> directory -> session -> redirect.
 *
 * Every refused attempt (unknown user, wrong password, blank password, account outside the allowed group,
 * too many attempts) gets the same page, the same status (401) and takes at least `minFailureMs` from the start
 * of the request, so neither the answer nor its timing tells an unknown user from a wrong password. Too many
 * attempts is deliberately not a 429: a distinct answer would tell a guesser which usernames are being
 * throttled and when to resume. A directory outage fails closed with its own generic message (it says nothing
 * about the account) and a log line, never a 5xx.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HOME_PATH, LOGIN_PATH, LOGOUT_PATH } from '../../web/portal/layout.js';
import {
  LOGIN_FAILED_MESSAGE,
  LOGIN_UNAVAILABLE_MESSAGE,
  renderLoginPage,
} from '../../web/portal/login-page.js';
import { type Directory, validateCredentialsInput } from '../directory/directory.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import { endSession, establishSession, formCsrfToken, type PortalLogger } from './portal-security.js';

export interface LoginLimit {
  limit: number;
  windowSeconds: number;
}

/**
 * Fixed windows counting every attempt (a success does not reset them), checked before the directory is asked,
 * so a burst of parallel guesses is bounded too.
 */
export interface LoginLimits {
  /** Attempts per username (normalised) per window. */
  perUsername: LoginLimit;
  /**
   * Attempts per client address (IPv6: per /64) per window. Higher than per username by default: a whole office
   * often signs in from one NAT or proxy address (and behind a reverse proxy, set trustProxy).
   */
  perIp: LoginLimit;
  /** Every refused attempt lasts at least this long from the start of the request. */
  minFailureMs: number;
}

export const DEFAULT_LOGIN_LIMITS: Readonly<LoginLimits> = Object.freeze({
  perUsername: { limit: 10, windowSeconds: 15 * 60 },
  perIp: { limit: 50, windowSeconds: 15 * 60 },
  minFailureMs: 600,
});

export interface LoginRoutesOptions {
  directory: Directory;
  limiter: RateLimiter;
  logger: PortalLogger;
  serviceName: string;
  /** Where a user goes after the password (a local path); called with the directory's spelling of the name. */
  /** Where to go after the password; null refuses the sign-in like a wrong password (a locked account). */
  afterLogin: (username: string) => Promise<string | null>;
  limits: LoginLimits;
}

type Failure =
  | 'rate-limited-ip'
  | 'rate-limited-user'
  | 'refused-input'
  | 'invalid-credentials'
  | 'not-allowed';

export function loginRoutes(options: LoginRoutesOptions): FastifyPluginAsync {
  const { directory, limiter, logger, serviceName, limits } = options;
  validateLimits(limits);

  return async (app) => {
    // No session is created here: the form's CSRF token is stateless (login-csrf.ts).
    app.get(LOGIN_PATH, async (request, reply) =>
      sendHtml(reply, 200, renderLoginPage({ serviceName, csrfToken: formCsrfToken(request, reply) })),
    );

    app.post(LOGIN_PATH, async (request, reply) => {
      // The CSRF check has run (the session's token, or the stateless sign-in token); a session is created only
      // once the password is accepted.
      // A refusal renders the token that was just accepted, so every refusal looks the same and sets nothing.
      const submitted = (request.body as Record<string, unknown> | null)?._csrf;
      const csrfToken = () =>
        request.portalSession?.csrf ??
        (typeof submitted === 'string' ? submitted : formCsrfToken(request, reply));
      const body = formFields(request.body);
      const username = body.username;
      const password = body.password;

      if (username === '' || password === '') {
        // Nothing to check: the browser's `required` normally stops this. Say which field is missing.
        return sendHtml(
          reply,
          400,
          renderLoginPage({
            serviceName,
            csrfToken: csrfToken(),
            username,
            fieldErrors: {
              ...(username === '' ? { username: 'Enter your username.' } : {}),
              ...(password === '' ? { password: 'Enter your password.' } : {}),
            },
          }),
        );
      }

      const refuse = async (reason: Failure | 'unavailable') => {
        const unavailable = reason === 'unavailable';
        const log = { reason, username: preview(username ?? ''), ip: request.ip };
        if (unavailable) logger.warn(log, 'portal: sign-in failed closed, the directory is unavailable');
        else logger.info(log, 'portal: sign-in refused');
        await padFailure(reply, limits.minFailureMs, logger);
        return sendHtml(
          reply,
          401,
          renderLoginPage({
            serviceName,
            csrfToken: csrfToken(),
            error: unavailable ? LOGIN_UNAVAILABLE_MESSAGE : LOGIN_FAILED_MESSAGE,
          }),
        );
      };

      // The address first: a throttled address does not push anyone's username counter further.
      const ipAllowed = await limiter.hit(
        `portal:login:ip:${addressBucket(request.ip)}`,
        limits.perIp.limit,
        limits.perIp.windowSeconds,
      );
      if (!ipAllowed) return refuse('rate-limited-ip');
      const userAllowed = await limiter.hit(
        `portal:login:user:${usernameBucket(username ?? '')}`,
        limits.perUsername.limit,
        limits.perUsername.windowSeconds,
      );
      if (!userAllowed) return refuse('rate-limited-user');

      // Blank, oversized or control-character input never reaches a bind (RFC 4513 5.1.2).
      if (username === undefined || password === undefined) return refuse('refused-input');
      if (!validateCredentialsInput(username, password).ok) return refuse('refused-input');

      const result = await directory.authenticate(username, password);
      if (!result.ok) return refuse(result.reason);

      let target: string;
      try {
        const next = await options.afterLogin(result.user.username);
        // A locked or blocked account hears exactly what a wrong password hears.
        if (next === null) return refuse('invalid-credentials');
        target = localPath(next, logger);
      } catch (error) {
        logger.error(
          { err: error, username: result.user.username },
          'portal: afterLogin failed; sign-in not completed',
        );
        return refuse('unavailable');
      }
      await establishSession(request, reply, {
        username: result.user.username,
        stage: 'password',
        data: { displayName: result.user.displayName },
      });
      logger.info({ username: result.user.username, ip: request.ip }, 'portal: password accepted');
      return reply.redirect(target, 303);
    });

    app.post(LOGOUT_PATH, async (request, reply) => {
      const username = request.portalSession?.username ?? null;
      await endSession(request, reply);
      if (username !== null) logger.info({ username }, 'portal: signed out');
      return reply.redirect(LOGIN_PATH, 303);
    });
  };
}

export function sendHtml(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

/**
 * The form's `username` and `password`: a string, `''` when absent, `undefined` when malformed (a repeated
 * field arrives as an array).
 */
function formFields(body: FastifyRequest['body']): { username?: string; password?: string } {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const read = (name: string): string | undefined => {
    const value = record[name];
    if (value === undefined) return '';
    return typeof value === 'string' ? value : undefined;
  };
  return { username: read('username'), password: read('password') };
}

/** Waits until the failure has lasted `minMs` (rounded up to a multiple of it, so slow paths blur too). */
async function padFailure(reply: FastifyReply, minMs: number, logger: PortalLogger): Promise<void> {
  const elapsed = reply.elapsedTime;
  const target = Math.max(1, Math.ceil(elapsed / minMs)) * minMs;
  if (elapsed > minMs) {
    logger.warn(
      { ms: Math.round(elapsed), minFailureMs: minMs },
      'portal: a refused sign-in outlasted the padding',
    );
  }
  const wait = target - elapsed;
  if (wait > 0) await sleep(wait);
}

/** The counter name for a username: case, width and spaces folded like the directory does, then hashed. */
export function usernameBucket(username: string): string {
  const folded = username.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
  return createHash('sha256').update(folded, 'utf8').digest('base64url').slice(0, 32);
}

/** The counter name for a client address: IPv4 as is, IPv6 by its /64 (one host usually owns a whole /64). */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = ip.includes('::')
    ? [...left, ...new Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** `target` when it is a path on this site, else `/` (never an open redirect). */
export function localPath(target: string, logger?: PortalLogger): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters make a path unsafe
  if (/^\/(?![/\\])[^\u0000-\u001F\u007F\\]*$/u.test(target)) return target;
  logger?.warn({ target: preview(target) }, 'portal: afterLogin gave a target that is not a local path');
  return HOME_PATH;
}

function preview(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…(${value.length} chars)` : value;
}

function validateLimits(limits: LoginLimits): void {
  for (const [name, limit] of [
    ['perUsername', limits.perUsername],
    ['perIp', limits.perIp],
  ] as const) {
    if (!Number.isInteger(limit.limit) || limit.limit < 1)
      throw new Error(`portal: loginLimits.${name}.limit must be >= 1`);
    if (!Number.isInteger(limit.windowSeconds) || limit.windowSeconds < 1)
      throw new Error(`portal: loginLimits.${name}.windowSeconds must be >= 1`);
  }
  if (!Number.isFinite(limits.minFailureMs) || limits.minFailureMs <= 0 || limits.minFailureMs > 10_000)
    throw new Error('portal: loginLimits.minFailureMs must be in (0, 10000]');
}
