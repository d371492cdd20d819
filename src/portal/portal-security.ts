/**
 * The portal's security layer, registered inside the portal's scope (it does not leak to the API or webhooks):
 *
 * - cookies (@fastify/cookie) and the session cookie: `__Host-mfa_session` + `Secure` when the public URL is
 *   https, else `mfa_session`; always `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Max-Age` (the server decides
 *   when a session ends);
 * - the session, loaded from the cookie on every portal request into `request.portalSession` (null when there
 *   is none, or it expired: then the cookie is cleared);
 * - a synchronizer CSRF token on every state-changing request (`_csrf` form field = the session's token,
 *   compared in constant time), else 403 with a page and no state change;
 * - security headers (@fastify/helmet): a CSP without inline script or style, no framing, no referrer, HSTS over
 *   https; `Cache-Control: no-store` on every page (only routes marked `portalPublic` may be cached);
 * - an HTML error page for the portal's routes instead of the API's JSON.
 *
 * Session ids are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import cookie, { type CookieSerializeOptions } from '@fastify/cookie';
import helmet from '@fastify/helmet';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { SafeHtml } from '../../web/html.js';
import { CSRF_FIELD, csrfInput, HOME_PATH, LOGIN_PATH } from '../../web/portal/layout.js';
import { renderMessagePage } from '../../web/portal/message-page.js';
import { asAppError } from '../api/error-handler.js';
import type { LoginCsrf } from './login-csrf.js';
import type {
  PortalSession,
  PortalSessionChanges,
  PortalSessionStore,
  PortalStage,
} from './session-store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The portal session of this request; null when there is none (or it expired). Portal routes only. */
    portalSession: PortalSession | null;
  }
  interface FastifyContextConfig {
    /** A portal route that needs no session (a static asset): no session load, cacheable. */
    portalPublic?: boolean;
  }
}

export interface PortalLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface PortalSecurityOptions {
  sessions: PortalSessionStore;
  /** The URL users reach the portal at: https turns on `Secure`, the `__Host-` cookie prefix and HSTS. */
  publicUrl: string;
  logger: PortalLogger;
  serviceName: string;
  /** The stateless CSRF token of forms posted without a session (the sign-in form). */
  loginCsrf: LoginCsrf;
}

export interface SessionCookie {
  name: string;
  options: CookieSerializeOptions;
}

export const SECURE_SESSION_COOKIE = '__Host-mfa_session';
export const SESSION_COOKIE = 'mfa_session';

/** The CSP of every portal page: nothing inline, nothing from elsewhere, no framing, no `<base>`. */
export const PORTAL_CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
} as const;

const STAGE_RANK: Readonly<Record<PortalStage, number>> = { anonymous: 0, password: 1, verified: 2 };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface RequestContext {
  sessions: PortalSessionStore;
  cookie: SessionCookie;
  loginCsrf: LoginCsrf;
}

/** Set for every request that went through `portalSecurity`; the helpers below read it. */
const contexts = new WeakMap<FastifyRequest, RequestContext>();

export function sessionCookie(publicUrl: string): SessionCookie {
  const secure = new URL(publicUrl).protocol === 'https:';
  return {
    name: secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE,
    options: { path: '/', httpOnly: true, sameSite: 'lax', secure },
  };
}

/**
 * The security layer as a plugin that is NOT encapsulated (`skip-override`, as fastify-plugin does): its
 * hooks apply to the scope that registers it, so register it inside the portal's own scope.
 */
export function portalSecurity(options: PortalSecurityOptions): FastifyPluginAsync {
  const { sessions, logger, serviceName } = options;
  const https = new URL(options.publicUrl).protocol === 'https:';
  const session = sessionCookie(options.publicUrl);

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: {
        useDefaults: false,
        directives: PORTAL_CSP_DIRECTIVES as unknown as Record<string, string[]>,
      },
      crossOriginEmbedderPolicy: false,
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    });
    if (!app.hasRequestDecorator('portalSession')) app.decorateRequest('portalSession', null);

    app.addHook('onRequest', async (request, reply) => {
      contexts.set(request, { sessions, cookie: session, loginCsrf: options.loginCsrf });
      if (request.routeOptions.config.portalPublic === true) return;
      reply.header('cache-control', 'no-store');
      const id = request.cookies[session.name];
      if (id === undefined || id === '') return;
      const loaded = await sessions.load(id);
      if (loaded) request.portalSession = loaded;
      else reply.clearCookie(session.name, session.options);
    });

    app.addHook('preHandler', async (request, reply) => {
      if (SAFE_METHODS.has(request.method)) return;
      const problem = csrfProblem(request, options.loginCsrf);
      if (problem === null) return;
      logger.info(
        { method: request.method, route: request.routeOptions.url, ip: request.ip, problem },
        'portal: form refused (CSRF token)',
      );
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(
          renderMessagePage({
            serviceName,
            title: 'This form has expired',
            message:
              'The page was open too long, or the form did not come from this site, so nothing was changed. ' +
              'Open the page again and retry.',
            next: request.portalSession?.username
              ? { href: HOME_PATH, label: 'Go to your account' }
              : { href: LOGIN_PATH, label: 'Go to sign-in' },
          }),
        );
    });

    app.setErrorHandler((raw: { statusCode?: number }, request, reply) => {
      const error = asAppError(raw, request.log);
      const status =
        typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600
          ? error.statusCode
          : 500;
      if (status >= 500 && status !== 503)
        request.log.error({ err: error, route: request.routeOptions.url }, 'portal: failed');
      const page = renderMessagePage({
        serviceName,
        ...errorPageText(status),
        next: { href: HOME_PATH, label: 'Start again' },
      });
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page);
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

/** What the error page says: a limit and an outage are told apart from a request that made no sense. */
function errorPageText(status: number): { title: string; message: string } {
  if (status === 429) return { title: 'Too many requests', message: 'Please wait a minute, then try again.' };
  if (status === 503)
    return {
      title: 'Temporarily unavailable',
      message: 'The service cannot answer right now. Please try again in a few minutes.',
    };
  if (status >= 500)
    return {
      title: 'Something went wrong',
      message: 'The service could not finish this request. Please try again in a few minutes.',
    };
  return {
    title: 'That did not work',
    message: 'The request could not be understood. Go back and try again.',
  };
}

function csrfProblem(request: FastifyRequest, loginCsrf: LoginCsrf): string | null {
  const session = request.portalSession;
  const body = request.body;
  const token =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[CSRF_FIELD] : undefined;
  // Without a session only the sign-in form's stateless token can pass (every other page needs a session).
  if (session === null) return loginCsrf.verify(request, token) ? null : 'no-session';
  if (typeof token !== 'string' || token === '') return 'missing';
  return sameSecret(token, session.csrf) ? null : 'mismatch';
}

/** Constant-time equality of two strings of any length (digests first, so lengths do not leak). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** True when the session reached `stage` (verified > password > anonymous) for a known user. */
export function hasStage(session: PortalSession | null, stage: PortalStage): boolean {
  if (session === null) return false;
  if (stage !== 'anonymous' && session.username === null) return false;
  return STAGE_RANK[session.stage] >= STAGE_RANK[stage];
}

/**
 * A preHandler that lets the request through when its session reached `stage` (or a later one), and otherwise
 * redirects (303) to the sign-in page (or `redirectTo`).
 */
export function requireStage(
  stage: PortalStage,
  options: { redirectTo?: string } = {},
): preHandlerAsyncHookHandler {
  const target = options.redirectTo ?? LOGIN_PATH;
  return async (request, reply) => {
    if (hasStage(request.portalSession, stage)) return;
    return reply.redirect(target, 303);
  };
}

/** The hidden `_csrf` input for a form of this session. */
export function csrfField(session: PortalSession): SafeHtml {
  return csrfInput(session.csrf);
}

function context(request: FastifyRequest): RequestContext {
  const found = contexts.get(request);
  if (!found) throw new Error('portal: this route is not inside the portal scope (portalSecurity)');
  return found;
}

function setSessionCookie(reply: FastifyReply, ctx: RequestContext, id: string): void {
  reply.setCookie(ctx.cookie.name, id, ctx.cookie.options);
}

/**
 * The CSRF token for a form: the session's when the request has one, else a stateless sign-in token (nonce
 * cookie set, nothing stored): a visitor without a session creates no server state.
 */
export function formCsrfToken(request: FastifyRequest, reply: FastifyReply): string {
  if (request.portalSession) return request.portalSession.csrf;
  return context(request).loginCsrf.issue(request, reply);
}

/**
 * Moves the request's session to a new id with `changes` applied (a new session when it has none) and sends the
 * new cookie: at login and after the second factor. The old id stops working at once.
 */
export async function establishSession(
  request: FastifyRequest,
  reply: FastifyReply,
  changes: PortalSessionChanges,
): Promise<PortalSession> {
  const ctx = context(request);
  const current = request.portalSession;
  const next = current ? await ctx.sessions.rotate(current, changes) : await ctx.sessions.create(changes);
  setSessionCookie(reply, ctx, next.id);
  request.portalSession = next;
  return next;
}

/** Destroys the request's session (if any) and clears the cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const ctx = context(request);
  const current = request.portalSession;
  if (current) await ctx.sessions.destroy(current.id);
  reply.clearCookie(ctx.cookie.name, ctx.cookie.options);
  request.portalSession = null;
}

/** Writes changes a page made to `request.portalSession` (username, stage, data). False when it is gone. */
export async function saveSession(request: FastifyRequest): Promise<boolean> {
  const current = request.portalSession;
  if (!current) return false;
  return context(request).sessions.save(current);
}
