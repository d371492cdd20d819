/**
 * The sign-in form's CSRF protection without server state, so `GET /login` from someone without a session
 * writes nothing to Redis (a crawler or a flood cannot fill it with anonymous sessions).
 *
 * A random nonce lives in an HttpOnly cookie; the form carries `issuedAt.mac` with
 * mac = HMAC-SHA256(key, nonce || issuedAt). A POST passes when the mac matches the cookie's nonce and the token
 * is at most `maxAgeMs` old. Another site can neither read the cookie nor set it (SameSite=Lax, `__Host-` over
 * https), so it cannot build a matching token: the double-submit is bound to this browser. The session itself
 * is created only when the password is accepted.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';

export const LOGIN_CSRF_MAX_AGE_MS = 2 * 60 * 60 * 1000;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const TOKEN = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

export interface LoginCsrf {
  /** A token for the sign-in form; sets the nonce cookie when the browser has none. */
  issue(request: FastifyRequest, reply: FastifyReply): string;
  /** True when the form's token belongs to this browser's nonce and is fresh. */
  verify(request: FastifyRequest, token: unknown): boolean;
}

export function loginCsrf(options: { key: string; clock: Clock; secureCookies: boolean }): LoginCsrf {
  const name = options.secureCookies ? '__Host-mfa_login' : 'mfa_login';
  const cookie: CookieSerializeOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secureCookies,
  };
  const mac = (nonce: string, issuedAt: string) =>
    createHmac('sha256', options.key).update(`login-csrf\0${nonce}\0${issuedAt}`).digest('base64url');

  return {
    issue(request, reply) {
      let nonce = request.cookies[name];
      if (nonce === undefined || !NONCE.test(nonce)) {
        nonce = randomBytes(16).toString('base64url');
        reply.setCookie(name, nonce, cookie);
      }
      const issuedAt = String(options.clock.now());
      return `${issuedAt}.${mac(nonce, issuedAt)}`;
    },
    verify(request, token) {
      const nonce = request.cookies[name];
      if (nonce === undefined || !NONCE.test(nonce) || typeof token !== 'string') return false;
      const match = TOKEN.exec(token);
      if (!match) return false;
      const [, issuedAt = '', given = ''] = match;
      const age = options.clock.now() - Number(issuedAt);
      if (age < 0 || age > LOGIN_CSRF_MAX_AGE_MS) return false;
      const expected = Buffer.from(mac(nonce, issuedAt));
      const actual = Buffer.from(given);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}
