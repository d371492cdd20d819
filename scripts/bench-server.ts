/**
 * The servers `npm run bench` measures, in a process of their own so the load generator does not share their
 * event loop: the engine (private Redis, simulator carrier) and a bare Fastify server giving the same replies.
 * Prints one JSON line with both URLs, then runs until SIGTERM.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/log.js';
import { startEmbeddedRedis } from '../src/redis/embedded-redis.js';
import { findFreePort } from '../src/redis/redis-process.js';
import { Runtime } from '../src/runtime.js';

export const BENCH_API_KEY = 'bench-api-key-0123456789';
export const BENCH_SIGNING_KEY = 'bench-signing-key-0123456789';
export const EMPTY_CXML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-bench-'));
  const quiet = { info() {}, warn() {} };
  const redis = await startEmbeddedRedis({ dataDir: dir, port: await findFreePort(), logger: quiet });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(await findFreePort()),
    REDIS_URL: redis.url,
    API_KEY: BENCH_API_KEY,
    SIGNING_KEY: BENCH_SIGNING_KEY,
    SECRET_KEY: 'bench-secret-key-0123456789',
    DATA_DIR: dir,
    LOG_LEVEL: 'silent',
    SEND_LIMIT: '20',
    // The load generator is one address: the per-address limit would measure 429s.
    RATE_LIMIT_MAX: '0',
  });
  const runtime = new Runtime(config, createLogger('silent'));
  await runtime.start();
  const bare = await startBare();
  process.stdout.write(`${JSON.stringify({ engineUrl: config.publicUrl, bareUrl: bare.url })}\n`);
  process.once('SIGTERM', async () => {
    await bare.close();
    await runtime.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

/** The same answers as the engine's routes, with no work behind them: the floor of HTTP on this machine. */
async function startBare() {
  const app = Fastify();
  await app.register(formbody);
  app.post('/webhooks/sms', async (_req, reply) => reply.type('text/xml').send(EMPTY_CXML));
  app.post('/api/v1/verifications', async (_req, reply) =>
    reply.code(201).send({ id: 'x', status: 'pending', method: 'sms', expiresAt: new Date().toISOString() }),
  );
  app.get('/dev/carrier/messages', async () => ({
    messages: [{ sid: 'SM0', direction: 'outbound', body: '123456 is your code', to: '+1', from: '+1' }],
  }));
  app.get('/api/v1/verifications/:id', async () => ({ id: 'x', status: 'approved' }));
  const port = await findFreePort();
  await app.listen({ host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

if (process.argv[1]?.endsWith('bench-server.ts')) void main();
