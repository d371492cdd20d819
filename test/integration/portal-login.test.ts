/**
 * The portal foundation against real services: a real redis-server, a real slapd seeded with the test users,
 * the LDAP directory, and the portal on a real port, driven with fetch and a hand-kept cookie jar.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerAuth } from '../../src/api/bearer-auth.js';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import type { Directory } from '../../src/directory/directory.js';
import { createLdapDirectory, type DirectoryLogger } from '../../src/directory/ldap-directory.js';
import { Keys } from '../../src/engine/keys.js';
import { createLogger } from '../../src/log.js';
import { type PortalFoundationDeps, portalFoundation } from '../../src/portal/portal-foundation.js';
import {
  csrfField,
  establishSession,
  type PortalLogger,
  requireStage,
} from '../../src/portal/portal-security.js';
import type { PortalSessionStore } from '../../src/portal/session-store.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import { RateLimiter } from '../../src/store/rate-limiter.js';
import { html } from '../../web/html.js';
import { renderLayout } from '../../web/portal/layout.js';
import { LOGIN_FAILED_MESSAGE, LOGIN_UNAVAILABLE_MESSAGE } from '../../web/portal/login-page.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';

/** The padding of every refused sign-in in these tests. */
const MIN_FAILURE_MS = 400;
const COOKIE = 'mfa_session';
/** The sign-in form's nonce cookie (its CSRF token is stateless: nothing is stored before the password). */
const LOGIN_COOKIE = 'mfa_login';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

type LogLine = { level: string; o: object; m?: string };

function recordingLogger(): PortalLogger & DirectoryLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (o: object, m?: string) => void lines.push({ level, o, m });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  setCookies: string[];
  ms: number;
}

/** Every session id and token a test saw, to check none of them reached a log line. */
const secretsSeen = new Set<string>();

/** A browser: a cookie jar, a client address (sent as X-Forwarded-For, the app trusts the proxy). */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly baseUrl: string,
    readonly ip: string,
  ) {}

  get session(): string | undefined {
    return this.jar.get(COOKIE);
  }

  get(path: string): Promise<Answer> {
    return this.send('GET', path);
  }

  post(path: string, fields: Record<string, string | string[]>): Promise<Answer> {
    return this.send('POST', path, fields);
  }

  /** GETs `path` and returns the page's `_csrf` value. */
  async csrf(path = '/login'): Promise<string> {
    const page = await this.get(path);
    expect(page.status).toBe(200);
    return csrfOf(page.body);
  }

  private async send(
    method: string,
    path: string,
    fields?: Record<string, string | string[]>,
  ): Promise<Answer> {
    const headers: Record<string, string> = { 'x-forwarded-for': this.ip };
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (fields) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) {
        for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
      }
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const started = performance.now();
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    const ms = performance.now() - started;
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const expires = /;\s*expires=([^;]+)/i.exec(line)?.[1];
      if (value === '' || /;\s*max-age=0/i.test(line) || (expires && Date.parse(expires) < Date.now())) {
        this.jar.delete(name);
      } else {
        this.jar.set(name, value);
        secretsSeen.add(value);
      }
    }
    return { status: response.status, headers: response.headers, body: text, setCookies, ms };
  }
}

function csrfOf(page: string): string {
  // A session's token, or the stateless sign-in token `issuedAt.mac`.
  const token = /<input type="hidden" name="_csrf" value="((?:\d+\.)?[A-Za-z0-9_-]{43})">/.exec(page)?.[1];
  if (!token) throw new Error(`no _csrf field in:\n${page}`);
  secretsSeen.add(token);
  return token;
}

/** A page a second-factor step would be: shows a form, and on POST promotes the session to `verified`. */
const secondFactorPage: FastifyPluginAsync = async (app) => {
  app.get('/test/second-factor', { preHandler: requireStage('password') }, async (request, reply) => {
    const session = request.portalSession!;
    const main = html`<form method="post" action="/test/second-factor">${csrfField(session)}<button>Verify</button></form>`;
    return reply
      .type('text/html; charset=utf-8')
      .send(renderLayout({ title: 'Verify', serviceName: 'Test', main }));
  });
  app.post('/test/second-factor', { preHandler: requireStage('password') }, async (request, reply) => {
    await establishSession(request, reply, { stage: 'verified' });
    return reply.redirect('/', 303);
  });
};

interface Portal {
  app: FastifyInstance;
  baseUrl: string;
  sessions: PortalSessionStore;
  keys: Keys;
  browser(ip?: string): Browser;
}

let redisServer: RedisServerHandle;
let slapd: TestSlapd;
let redis: Redis;
let ldap: Directory;
const clock = new ManualClock(Date.now());
const log = recordingLogger();
let directoryCalls = 0;
/** The real LDAP directory, counting the calls that reach it. */
const countingDirectory: Directory = {
  authenticate: (username, password) => {
    directoryCalls += 1;
    return ldap.authenticate(username, password);
  },
  findUser: (username) => ldap.findUser(username),
  check: () => ldap.check(),
  close: () => ldap.close(),
};
const apps: FastifyInstance[] = [];
const directories: Directory[] = [];
let portal: Portal;
let nextIp = 1;

async function startPortal(overrides: Partial<PortalFoundationDeps> & { prefix: string }): Promise<Portal> {
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const keys = new Keys(overrides.prefix);
  const app = Fastify({ trustProxy: true });
  apps.push(app);
  await app.register(formbody);
  // A sibling route outside the portal: the portal's hooks must not reach it.
  app.post('/outside', async () => ({ ok: true }));
  let sessions: PortalSessionStore | undefined;
  await app.register(
    portalFoundation({
      directory: countingDirectory,
      redis,
      keys,
      clock,
      logger: log,
      publicUrl: baseUrl,
      limiter: new RateLimiter(redis, keys),
      loginLimits: { perUsername: { limit: 100 }, perIp: { limit: 1000 }, minFailureMs: MIN_FAILURE_MS },
      afterLogin: async (username) => {
        if (username === 'jose') return '/enroll/start';
        if (username === 'yamada') return 'https://evil.example/';
        return '/';
      },
      pages: [
        secondFactorPage,
        async (scope) => {
          sessions = scope.portalSessions;
        },
      ],
      ...overrides,
    }),
  );
  await app.listen({ host: '127.0.0.1', port });
  return {
    app,
    baseUrl,
    keys,
    sessions: sessions!,
    browser: (ip) => new Browser(baseUrl, ip ?? `10.9.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 1}`),
  };
}

/** The portal's session keys in Redis (hashed ids). */
async function sessionKeys(target: Portal): Promise<string[]> {
  return (await redis.keys(`${target.keys.tag}:portal:session:*`)).sort();
}

async function signIn(browser: Browser, username: string, password: string): Promise<Answer> {
  const csrf = await browser.csrf();
  return browser.post('/login', { username, password, _csrf: csrf });
}

/** Signed in with the password and through the test's second factor. */
async function signInVerified(browser: Browser, username = 'jdoe'): Promise<void> {
  const answer = await signIn(browser, username, USERS[username as keyof typeof USERS].password);
  expect(answer.status).toBe(303);
  const csrf = await browser.csrf('/test/second-factor');
  const verified = await browser.post('/test/second-factor', { _csrf: csrf });
  expect(verified.status).toBe(303);
}

beforeAll(async () => {
  [redisServer, slapd] = await Promise.all([startRedisServer({ appendOnly: false }), startTestSlapd()]);
  redis = new Redis(redisServer.url);
  ldap = createLdapDirectory(slapd.config, log);
  directories.push(ldap);
  portal = await startPortal({ prefix: 'portal-main' });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(directories.map((d) => d.close()));
  redis?.disconnect();
  await Promise.all([redisServer?.stop(), slapd?.stop()]);
});

describe('portal: the sign-in page', () => {
  it('has labelled fields, a CSRF field, no script or inline style, and stores nothing without a session', async () => {
    const sessionsBefore = await sessionKeys(portal);
    const browser = portal.browser();
    const page = await browser.get('/login');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('<label for="username">Username</label>');
    expect(page.body).toContain('<label for="password">Password</label>');
    expect(page.body).toMatch(/<input id="username" name="username" type="text" autocomplete="username"/);
    expect(page.body).toMatch(
      /<input id="password" name="password" type="password" autocomplete="current-password"/,
    );
    expect(page.body).toContain('<form method="post" action="/login"');
    expect(page.body).toContain('<main id="main"');
    expect(page.body).not.toMatch(/<script|\sstyle=|<style|\son[a-z]+=/i);
    const csrf = csrfOf(page.body);

    expect(csrf).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);

    // Only the form's nonce cookie: no session cookie, and no session in Redis.
    expect(page.setCookies).toHaveLength(1);
    const cookie = page.setCookies[0]!;
    expect(cookie).toMatch(/^mfa_login=[A-Za-z0-9_-]{22}; /);
    expect(cookie).toMatch(/; Path=\/(;|$)/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
    expect(cookie).not.toMatch(/Secure|Max-Age|Expires/i);
    expect(browser.session).toBeUndefined();

    // The same browser keeps its nonce; many visits still store nothing.
    for (let i = 0; i < 20; i++) expect((await browser.get('/login')).setCookies).toEqual([]);
    for (let i = 0; i < 20; i++) await portal.browser().get('/login');
    expect(await sessionKeys(portal)).toEqual(sessionsBefore);
  });

  it('sends the security headers: a CSP without inline code, no framing, no caching', async () => {
    const page = await portal.browser().get('/login');
    const csp = page.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
    );
    expect(Object.fromEntries(directives)).toEqual({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      'object-src': "'none'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
    });
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('strict-transport-security')).toBeNull(); // http: HSTS would be meaningless

    const css = await portal.browser().get('/portal.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('no-cache');
    expect(css.setCookies).toEqual([]);
    expect(css.body).toContain('.field-error');
  });

  it('keeps its hooks inside the portal scope', async () => {
    const response = await fetch(`${portal.baseUrl}/outside`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('uses a __Host- cookie with Secure, and HSTS, when the public URL is https', async () => {
    const secure = await startPortal({ prefix: 'portal-https', publicUrl: 'https://mfa.example.com' });
    const page = await secure.browser().get('/login');
    expect(page.setCookies[0]).toMatch(
      /^__Host-mfa_login=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(page.headers.get('strict-transport-security')).toMatch(/max-age=31536000/);
  });
});

describe('portal: CSRF', () => {
  it('refuses a POST without or with a wrong _csrf: 403, a page, and nothing changes', async () => {
    const browser = portal.browser();
    const csrf = await browser.csrf();
    const calls = directoryCalls;
    const right = { username: 'jdoe', password: USERS.jdoe.password };

    for (const fields of [right, { ...right, _csrf: '' }, { ...right, _csrf: `${csrf.slice(0, -1)}x` }]) {
      const refused = await browser.post('/login', fields);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
      expect(refused.body).toContain('This form has expired');
      expect(refused.body).toContain('nothing was changed');
      expect(refused.setCookies).toEqual([]);
    }
    // Two tokens at once (a repeated field) are refused too.
    expect((await browser.post('/login', { ...right, _csrf: [csrf, csrf] })).status).toBe(403);
    expect(browser.session).toBeUndefined();
    expect(directoryCalls).toBe(calls);

    // A token is bound to its browser's nonce: another browser (or a forged page) cannot use it.
    const stranger = portal.browser();
    expect((await stranger.post('/login', { ...right, _csrf: csrf })).status).toBe(403);
    await stranger.get('/login'); // its own nonce, not the one csrf was made for
    expect((await stranger.post('/login', { ...right, _csrf: csrf })).status).toBe(403);
    expect(stranger.session).toBeUndefined();
    expect(directoryCalls).toBe(calls);

    // A stale form (over two hours old) is refused; a fresh one from the same page works.
    clock.advance(2 * 60 * 60 * 1000 + 1);
    expect((await browser.post('/login', { ...right, _csrf: csrf })).status).toBe(403);
    expect((await browser.post('/login', { ...right, _csrf: await browser.csrf() })).status).toBe(303);
  });

  it('protects sign-out and added pages the same way', async () => {
    const browser = portal.browser();
    await signInVerified(browser);
    const id = browser.session!;
    expect((await browser.post('/logout', {})).status).toBe(403);
    expect((await browser.post('/test/second-factor', { _csrf: 'nope' })).status).toBe(403);
    expect(browser.session).toBe(id);
    expect((await browser.get('/')).status).toBe(200);
  });
});

describe('portal: signing in', () => {
  it('accepts the right password: 303, a new session id and CSRF token, stage password', async () => {
    const browser = portal.browser();
    const csrf = await browser.csrf();
    expect(browser.session).toBeUndefined();
    const answer = await browser.post('/login', {
      username: 'jdoe',
      password: USERS.jdoe.password,
      _csrf: csrf,
    });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/');
    expect(answer.setCookies).toHaveLength(1);
    expect(answer.setCookies[0]).toMatch(/^mfa_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const signedIn = browser.session!;
    expect(signedIn).toMatch(SESSION_ID);

    // The session is created now, with the directory's user.
    const session = await portal.sessions.load(signedIn);
    expect(session).toMatchObject({
      username: 'jdoe',
      stage: 'password',
      data: { displayName: 'John Q. Doe' },
    });
    expect(session?.csrf).not.toBe(csrf);

    // The sign-in token is worth nothing once signed in: forms need the session's token now.
    expect((await browser.post('/logout', { _csrf: csrf })).status).toBe(403);
    // The nonce cookie alone opens no page.
    const replay = new Browser(portal.baseUrl, browser.ip);
    replay.jar.set(LOGIN_COOKIE, browser.jar.get(LOGIN_COOKIE)!);
    const home = await replay.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login');

    // The password alone is not enough for the signed-in home page.
    const early = await browser.get('/');
    expect(early.status).toBe(303);
    expect(early.headers.get('location')).toBe('/login');
  });

  it('stores the directory spelling of the username and redirects where afterLogin says (local paths only)', async () => {
    const cased = portal.browser();
    expect((await signIn(cased, 'JDoe', USERS.jdoe.password)).status).toBe(303);
    expect((await portal.sessions.load(cased.session!))?.username).toBe('jdoe');

    const jose = await signIn(portal.browser(), 'jose', USERS.jose.password);
    expect(jose.status).toBe(303);
    expect(jose.headers.get('location')).toBe('/enroll/start');

    // An absolute URL from afterLogin is not followed: no open redirect.
    const yamada = await signIn(portal.browser(), 'yamada', USERS.yamada.password);
    expect(yamada.status).toBe(303);
    expect(yamada.headers.get('location')).toBe('/');
  });

  it('rotates the session id again after the second factor', async () => {
    const browser = portal.browser();
    expect((await signIn(browser, 'jdoe', USERS.jdoe.password)).status).toBe(303);
    const afterPassword = browser.session!;
    const csrf = await browser.csrf('/test/second-factor');
    expect((await browser.post('/test/second-factor', { _csrf: csrf })).status).toBe(303);
    expect(browser.session).not.toBe(afterPassword);
    expect(await portal.sessions.load(afterPassword)).toBeNull();
    const home = await browser.get('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('Signed in as <strong>jdoe</strong>');
    expect(home.body).toMatch(
      /<form method="post" action="\/logout"[^>]*>\s*<input type="hidden" name="_csrf"/,
    );
    expect(home.headers.get('cache-control')).toBe('no-store');
  });
});

describe('portal: refused sign-ins', () => {
  it('answers an unknown user, a wrong password, a blank password and a blocked account alike, each padded', async () => {
    const browser = portal.browser();
    const csrf = await browser.csrf();
    const sessionsBefore = await sessionKeys(portal);
    const attempts: { username: string; password: string; reachesDirectory: boolean }[] = [
      { username: 'jdoe', password: 'wrong password', reachesDirectory: true },
      { username: 'nobody-at-all', password: 'wrong password', reachesDirectory: true },
      { username: 'jdoe', password: USERS.jose.password, reachesDirectory: true },
      // Outside the allowed group: the right password, still the same refusal.
      { username: 'outsider', password: USERS.outsider.password, reachesDirectory: true },
      // Blank passwords never reach a bind.
      { username: 'jdoe', password: '   ', reachesDirectory: false },
      { username: 'jdoe', password: '\u200b', reachesDirectory: false },
      { username: 'jdoe', password: 'p'.repeat(2000), reachesDirectory: false },
      { username: 'j\u0000doe', password: USERS.jdoe.password, reachesDirectory: false },
    ];
    const answers: Answer[] = [];
    for (const attempt of attempts) {
      const calls = directoryCalls;
      const { username, password } = attempt;
      const answer = await browser.post('/login', { username, password, _csrf: csrf });
      expect(directoryCalls - calls, attempt.username).toBe(attempt.reachesDirectory ? 1 : 0);
      answers.push(answer);
    }
    const [first] = answers;
    expect(first?.status).toBe(401);
    expect(first?.body).toContain(LOGIN_FAILED_MESSAGE);
    expect(first?.body).toContain('role="alert"');
    expect(first?.body).not.toContain('nobody-at-all');
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, attempts[index]?.username).toBe(401);
      expect(answer.body, attempts[index]?.username).toBe(first?.body);
      expect(answer.setCookies).toEqual([]);
      expect(answer.ms, `${attempts[index]?.username} took ${answer.ms} ms`).toBeGreaterThanOrEqual(
        MIN_FAILURE_MS,
      );
    }
    // Refusals create no session.
    expect(browser.session).toBeUndefined();
    expect(await sessionKeys(portal)).toEqual(sessionsBefore);
  });

  it('asks for an empty field without asking the directory', async () => {
    const browser = portal.browser();
    const csrf = await browser.csrf();
    const calls = directoryCalls;
    const answer = await browser.post('/login', { username: 'jdoe', password: '', _csrf: csrf });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('<p class="field-error" id="password-error">');
    expect(answer.body).toContain('Enter your password.');
    expect(answer.body).toMatch(/id="password"[^>]*aria-describedby="password-error" aria-invalid="true"/);
    expect(answer.body).toContain('value="jdoe"');
    const both = await browser.post('/login', { _csrf: csrf });
    expect(both.status).toBe(400);
    expect(both.body).toContain('Enter your username.');
    expect(directoryCalls).toBe(calls);
  });

  it('never answers odd input with a 5xx', async () => {
    const browser = portal.browser();
    const csrf = await browser.csrf();
    const odd: Record<string, string | string[]>[] = [
      { username: ['jdoe', 'jose'], password: USERS.jdoe.password, _csrf: csrf },
      { username: 'jdoe', password: [USERS.jdoe.password, 'x'], _csrf: csrf },
      { username: '*)(uid=*))(|(uid=*', password: 'x', _csrf: csrf },
      { username: 'x'.repeat(5000), password: 'x', _csrf: csrf },
      { username: '<script>alert(1)</script>', password: '', _csrf: csrf },
    ];
    for (const fields of odd) {
      const answer = await browser.post('/login', fields);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body).not.toContain('<script>alert');
    }
  });
});

describe('portal: rate limits', () => {
  let strict: Portal;
  beforeAll(async () => {
    strict = await startPortal({
      prefix: 'portal-strict',
      loginLimits: { perUsername: { limit: 3 }, perIp: { limit: 5 }, minFailureMs: MIN_FAILURE_MS },
    });
  });

  it('refuses even the right password after N attempts for one username, with the same answer', async () => {
    const browser = strict.browser('10.20.0.1');
    const csrf = await browser.csrf();
    let last: Answer | undefined;
    for (let i = 0; i < 3; i++) {
      last = await browser.post('/login', { username: 'dmitrij', password: `wrong-${i}`, _csrf: csrf });
      expect(last.status).toBe(401);
    }
    const calls = directoryCalls;
    // Another spelling of the same name is the same counter.
    const limited = await browser.post('/login', {
      username: ' DMITRIJ ',
      password: USERS.dmitrij.password,
      _csrf: csrf,
    });
    expect(limited.status).toBe(401);
    expect(limited.body).toBe(last?.body);
    expect(limited.ms).toBeGreaterThanOrEqual(MIN_FAILURE_MS);
    expect(directoryCalls).toBe(calls);
    // From another address too: the limit is the username's.
    expect((await signIn(strict.browser('10.20.0.2'), 'dmitrij', USERS.dmitrij.password)).status).toBe(401);
    // Other users from the same address are not affected.
    expect(
      (await browser.post('/login', { username: 'plain', password: USERS.plain.password, _csrf: csrf }))
        .status,
    ).toBe(303);
    expect(
      log.lines.some(
        (l) => l.m === 'portal: sign-in refused' && JSON.stringify(l.o).includes('rate-limited-user'),
      ),
    ).toBe(true);
  });

  it('refuses every username from one address after N attempts from it', async () => {
    const browser = strict.browser('10.20.1.1');
    const csrf = await browser.csrf();
    for (let i = 0; i < 5; i++) {
      const answer = await browser.post('/login', {
        username: `guess-${i}`,
        password: 'Summer2026!',
        _csrf: csrf,
      });
      expect(answer.status).toBe(401);
    }
    const calls = directoryCalls;
    const limited = await browser.post('/login', {
      username: USERS.ivan.uid,
      password: USERS.ivan.password,
      _csrf: csrf,
    });
    expect(limited.status).toBe(401);
    expect(limited.body).toContain(LOGIN_FAILED_MESSAGE);
    expect(limited.ms).toBeGreaterThanOrEqual(MIN_FAILURE_MS);
    expect(directoryCalls).toBe(calls);
    // The same user from another address signs in.
    expect((await signIn(strict.browser('10.20.1.2'), USERS.ivan.uid, USERS.ivan.password)).status).toBe(303);
  });
});

describe('portal: directory outage', () => {
  it('fails closed with a generic message, no 5xx, and a log line', async () => {
    const down = createLdapDirectory(
      { ...slapd.config, url: `ldap://127.0.0.1:${await findFreePort()}` },
      log,
    );
    directories.push(down);
    const outage = await startPortal({ prefix: 'portal-outage', directory: down });
    const browser = outage.browser();
    const csrf = await browser.csrf();
    const answer = await browser.post('/login', {
      username: 'jdoe',
      password: USERS.jdoe.password,
      _csrf: csrf,
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toContain(LOGIN_UNAVAILABLE_MESSAGE);
    expect(answer.body).not.toMatch(/ldap|127\.0\.0\.1|ECONNREFUSED/i);
    expect(answer.ms).toBeGreaterThanOrEqual(MIN_FAILURE_MS);
    expect(browser.session).toBeUndefined();
    const line = log.lines.find((l) => l.m === 'portal: sign-in failed closed, the directory is unavailable');
    expect(line?.level).toBe('warn');
    expect(line?.o).toMatchObject({ reason: 'unavailable', username: 'jdoe' });
  });
});

describe('portal: session lifetime', () => {
  it('sends an idle session back to sign-in after 15 minutes, and forgets it', async () => {
    const browser = portal.browser();
    await signInVerified(browser);
    const id = browser.session!;
    expect((await browser.get('/')).status).toBe(200);
    clock.advance(14 * 60 * 1000);
    expect((await browser.get('/')).status).toBe(200); // use refreshes the idle timer
    clock.advance(16 * 60 * 1000);
    const expired = await browser.get('/');
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toBe('/login');
    expect(expired.setCookies.some((c) => c.startsWith(`${COOKIE}=;`))).toBe(true);
    expect(browser.session).toBeUndefined();
    expect(await redis.exists(portal.sessions.key(id))).toBe(0);
  });

  it('signs out: the session is destroyed and the old cookie no longer works', async () => {
    const browser = portal.browser();
    await signInVerified(browser);
    const id = browser.session!;
    const home = await browser.get('/');
    const out = await browser.post('/logout', { _csrf: csrfOf(home.body) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect(browser.session).toBeUndefined();
    expect(await redis.exists(portal.sessions.key(id))).toBe(0);

    const replay = new Browser(portal.baseUrl, browser.ip);
    replay.jar.set(COOKIE, id);
    const again = await replay.get('/');
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/login');
  });
});

describe('portal: inside the engine app (src/app.ts)', () => {
  it('mounts as a public plugin next to the API, with pino as its logger', async () => {
    const port = await findFreePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const keys = new Keys('portal-app');
    const app = await buildApp({ bodyLimitBytes: 64 * 1024, trustProxy: false }, createLogger('silent'), {
      public: [
        portalFoundation({
          directory: countingDirectory,
          redis,
          keys,
          clock,
          logger: createLogger('silent'),
          publicUrl: baseUrl,
          limiter: new RateLimiter(redis, keys),
          serviceName: 'Acme MFA',
          loginLimits: { minFailureMs: MIN_FAILURE_MS },
        }),
      ],
      authenticated: { auth: bearerAuth('test-api-key-0123456789'), routes: [] },
    });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port });
    const browser = new Browser(baseUrl, '10.30.0.1');
    const page = await browser.get('/login');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Sign in · Acme MFA</title>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const answer = await browser.post('/login', {
      username: 'jdoe',
      password: USERS.jdoe.password,
      _csrf: csrfOf(page.body),
    });
    expect(answer.status).toBe(303);
    expect((await browser.post('/login', { username: 'jdoe', password: 'x' })).status).toBe(403);
    // Routes outside the portal keep the engine's answers: JSON, no portal headers, no session.
    const api = await fetch(`${baseUrl}/api/v1/nothing`);
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
    expect(api.headers.get('content-security-policy')).toBeNull();
    expect(api.headers.getSetCookie()).toEqual([]);
  });
});

describe('portal: logs', () => {
  it('never hold a session id, a CSRF token or a password', () => {
    expect(secretsSeen.size).toBeGreaterThan(10);
    const logged = JSON.stringify(log.lines);
    for (const secret of secretsSeen) expect(logged).not.toContain(secret);
    for (const user of Object.values(USERS)) expect(logged).not.toContain(user.password);
    expect(log.lines.some((l) => l.m === 'portal: password accepted')).toBe(true);
  });
});
