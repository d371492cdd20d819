import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  LogController,
} from 'fastify';
import { useZodSchemas } from './api/api-schemas.js';
import type { bearerAuth } from './api/bearer-auth.js';
import { installErrorHandler } from './api/error-handler.js';
import { registerOpenApi } from './api/openapi.js';
import { redisGate } from './api/redis-gate.js';
import { type RequestLimit, registerRequestLimit } from './api/request-limit.js';
import type { Config } from './config/load-config.js';
import { fastifyTrustProxy } from './config/trust-proxy.js';
import type { Logger } from './log.js';

const API_VERSION = '1';

/**
 * The HTTP shell: limits, parsers, error shape, security headers. Routes are plugins handed in by the runtime,
 * so tests and the benchmark build the same app.
 */
export async function buildApp(
  config: Pick<Config, 'bodyLimitBytes' | 'trustProxy'>,
  logger: Logger,
  plugins: {
    public: FastifyPluginAsync[];
    authenticated: { auth: ReturnType<typeof bearerAuth>; routes: FastifyPluginAsync[] };
  },
  edge: {
    requestLimit?: RequestLimit;
    redisAvailable?: () => boolean;
    /** Told the route pattern and status of every carrier webhook answered (the metrics). */
    onWebhook?: (route: string, status: number) => void;
  } = {},
): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Per-request lines would log URLs, and URLs can carry phone numbers (simulator queries): off.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  });
  installErrorHandler(app);
  const onWebhook = edge.onWebhook;
  if (onWebhook)
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route?.startsWith('/webhooks/')) onWebhook(route, reply.statusCode);
    });
  // While Redis is down every request that needs it answers 503 at once, before anything touches Redis.
  if (edge.redisAvailable) app.addHook('onRequest', redisGate(edge.redisAvailable));
  // Then the request limit, before any other hook: 429 before any work.
  if (edge.requestLimit) await registerRequestLimit(app, edge.requestLimit);
  await app.register(formbody, { bodyLimit: config.bodyLimitBytes });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  await registerOpenApi(app, API_VERSION);
  for (const plugin of plugins.public) await app.register(plugin);
  await app.register(async (scope) => {
    useZodSchemas(scope);
    scope.addHook('onRequest', plugins.authenticated.auth);
    for (const plugin of plugins.authenticated.routes) await scope.register(plugin);
  });
  return app;
}
