import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { MessagingCarrier } from '../carriers/messaging-port.js';
import type { ManagedVoiceCarrier } from '../carriers/select-carrier.js';

/** `/healthz`: the process answers. `/readyz`: it can do its job (Redis, workers, carrier). */
const PING_TIMEOUT_MS = 500;

export function healthRoutes(deps: {
  redis: Redis;
  /** The request connection is up (else /readyz answers 503 at once, without waiting for a ping). */
  redisConnected?: () => boolean;
  workersRunning: () => boolean;
  carrier: () => MessagingCarrier;
  voiceCarrier: () => ManagedVoiceCarrier;
}): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const redis = await redisCheck(deps);
      const workers = { ok: deps.workersRunning(), detail: deps.workersRunning() ? 'running' : 'stopped' };
      const carrier = { name: deps.carrier().name, ...deps.carrier().readiness() };
      const voice = deps.voiceCarrier();
      // The cXML voice adapter has nothing to connect; Relay reports its connection.
      const voiceCarrier = { name: voice.name, ...(voice.readiness?.() ?? { ok: true, detail: 'ready' }) };
      const ok = redis.ok && workers.ok && carrier.ok && voiceCarrier.ok;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'not-ready', checks: { redis, workers, carrier, voiceCarrier } });
    });
  };
}

/** Redis answers a ping within PING_TIMEOUT_MS; never waits longer, so /readyz always answers within a second. */
async function redisCheck(deps: { redis: Redis; redisConnected?: () => boolean }) {
  if (deps.redisConnected && !deps.redisConnected()) return { ok: false, detail: 'disconnected' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; detail: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${PING_TIMEOUT_MS} ms` }),
      PING_TIMEOUT_MS,
    );
  });
  const ping = deps.redis
    .ping()
    .then((pong) => ({ ok: pong === 'PONG', detail: 'ping' }))
    .catch((err: Error) => ({ ok: false, detail: err.message }));
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
