import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { bearerAuth } from '../api/bearer-auth.js';
import type { Config } from '../config/load-config.js';
import type { EngineMetrics } from './engine-metrics.js';

/** `GET /metrics` in Prometheus' text format, behind the bearer token when one is configured. */
export function metricsRoute(metrics: EngineMetrics, token: string | undefined): FastifyPluginAsync {
  return async (app) => {
    if (token) app.addHook('onRequest', bearerAuth(token));
    app.get('/metrics', async (_request, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  };
}

/** The separate listener for METRICS_PORT: nothing but `/metrics`. */
export async function startMetricsServer(
  metrics: EngineMetrics,
  config: Config['metrics'] & { port: number },
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(metricsRoute(metrics, config.token));
  await app.listen({ host: config.host, port: config.port });
  return app;
}
