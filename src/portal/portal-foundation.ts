/**
 * The self-service portal's foundation: one encapsulated scope holding the security layer (cookies, sessions,
 * CSRF, headers), the stylesheet, sign-in / sign-out and a placeholder home page. Further pages (enrollment)
 * are plugins handed in through `pages`: registered inside the same scope, they get `request.portalSession`,
 * the CSRF check on every POST and the headers without doing anything.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { renderHomePage } from '../../web/portal/home-page.js';
import { HOME_PATH, PORTAL_CSS_PATH } from '../../web/portal/layout.js';
import type { Clock } from '../clock.js';
import type { Directory } from '../directory/directory.js';
import type { Keys } from '../engine/keys.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import { DEFAULT_LOGIN_LIMITS, type LoginLimit, type LoginLimits, loginRoutes, sendHtml } from './login.js';
import { loginCsrf } from './login-csrf.js';
import { type PortalLogger, portalSecurity, requireStage } from './portal-security.js';
import { PortalSessionStore, type PortalSessionStoreOptions } from './session-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The portal's session store (inside the portal scope only). */
    portalSessions: PortalSessionStore;
  }
}

export interface PortalFoundationDeps {
  directory: Directory;
  redis: Redis;
  keys: Keys;
  clock: Clock;
  logger: PortalLogger;
  /** The URL users reach the portal at (https: Secure `__Host-` cookie and HSTS). */
  publicUrl: string;
  limiter: RateLimiter;
  /** Where to go once the password is accepted (a local path; default `/`). */
  afterLogin?: (username: string) => Promise<string | null>;
  loginLimits?: {
    perUsername?: Partial<LoginLimit>;
    perIp?: Partial<LoginLimit>;
    minFailureMs?: number;
  };
  /** A store built by the caller (to share it with other code); else one is built from `sessionOptions`. */
  sessions?: PortalSessionStore;
  sessionOptions?: PortalSessionStoreOptions;
  /** Shown in page titles and the header (default `Dialtone MFA`). */
  serviceName?: string;
  /** More portal pages, registered inside the portal scope after sign-in. */
  pages?: FastifyPluginAsync[];
  /** Mount the placeholder `GET /` (default true; turn off when a page provides `/`). */
  placeholderHome?: boolean;
  /**
   * Key of the sign-in form's stateless CSRF token; every process behind one address needs the same one
   * (the runtime derives it from SECRET_KEY). Default: random per process.
   */
  csrfKey?: string;
}

export const DEFAULT_SERVICE_NAME = 'Dialtone MFA';

/** Builds the session store the foundation would build (for callers that need it before mounting). */
export function createPortalSessionStore(
  deps: Pick<PortalFoundationDeps, 'redis' | 'keys' | 'clock' | 'sessionOptions'>,
): PortalSessionStore {
  return new PortalSessionStore(deps.redis, deps.keys, deps.clock, deps.sessionOptions);
}

export function resolveLoginLimits(overrides: PortalFoundationDeps['loginLimits'] = {}): LoginLimits {
  return {
    perUsername: { ...DEFAULT_LOGIN_LIMITS.perUsername, ...overrides.perUsername },
    perIp: { ...DEFAULT_LOGIN_LIMITS.perIp, ...overrides.perIp },
    minFailureMs: overrides.minFailureMs ?? DEFAULT_LOGIN_LIMITS.minFailureMs,
  };
}

export function portalFoundation(deps: PortalFoundationDeps): FastifyPluginAsync {
  const sessions = deps.sessions ?? createPortalSessionStore(deps);
  const serviceName = deps.serviceName ?? DEFAULT_SERVICE_NAME;
  const limits = resolveLoginLimits(deps.loginLimits);
  const afterLogin = deps.afterLogin ?? (async () => HOME_PATH);
  const css = readStylesheet();

  return async (app) => {
    app.decorate('portalSessions', sessions);
    const secureCookies = new URL(deps.publicUrl).protocol === 'https:';
    const csrf = loginCsrf({
      key: deps.csrfKey ?? randomBytes(32).toString('base64url'),
      clock: deps.clock,
      secureCookies,
    });
    await app.register(
      portalSecurity({
        sessions,
        publicUrl: deps.publicUrl,
        logger: deps.logger,
        serviceName,
        loginCsrf: csrf,
      }),
    );

    app.get(PORTAL_CSS_PATH, { config: { portalPublic: true } }, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css),
    );

    await app.register(
      loginRoutes({
        directory: deps.directory,
        limiter: deps.limiter,
        logger: deps.logger,
        serviceName,
        afterLogin,
        limits,
      }),
    );

    if (deps.placeholderHome !== false) {
      app.get(HOME_PATH, { preHandler: requireStage('verified') }, async (request, reply) => {
        const session = request.portalSession!;
        return sendHtml(
          reply,
          200,
          renderHomePage({
            serviceName,
            username: session.username ?? '',
            displayName: session.data.displayName,
            csrfToken: session.csrf,
          }),
        );
      });
    }

    for (const page of deps.pages ?? []) await app.register(page);
  };
}

/** The portal stylesheet, read once: next to the sources (tsx) or two levels up from `dist/src/...` (tsc). */
function readStylesheet(): string {
  for (const candidate of ['../../web/portal/portal.css', '../../../web/portal/portal.css']) {
    try {
      return readFileSync(new URL(candidate, import.meta.url), 'utf8');
    } catch {
      // try the next layout
    }
  }
  throw new Error('portal: web/portal/portal.css not found next to the sources');
}
