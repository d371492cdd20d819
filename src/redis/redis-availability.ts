/**
 * Redis trouble answers fast and honestly. ioredis's defaults keep a command waiting through several reconnect
 * attempts whose delay grows to 2 s, so a request could hang for many seconds while Redis is down. The
 * connections that serve requests use bounded options instead (reconnect every 50-300 ms, forever; a command
 * gives up after one failed reconnect), and `RedisAvailability` lets the HTTP edge answer 503 at once while
 * the connection is down, without sending anything to Redis. Recovery is ioredis's own reconnect.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { AppError } from '../errors.js';

/** Options for connections that serve requests (not BullMQ workers, which must wait: maxRetriesPerRequest null). */
export const REQUEST_REDIS_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  retryStrategy: (times: number) => Math.min(50 * times, 300),
};

export class RedisUnavailableError extends AppError {
  constructor() {
    super('unavailable');
    this.name = 'RedisUnavailableError';
  }
}

/** Up from the first `ready` until the connection closes; up again at the next `ready`. */
export class RedisAvailability {
  private up = false;
  private everReady = false;

  constructor(redis: Redis) {
    this.up = redis.status === 'ready';
    this.everReady = this.up;
    redis.on('ready', () => {
      this.up = true;
      this.everReady = true;
    });
    for (const event of ['close', 'reconnecting', 'end'] as const) redis.on(event, () => (this.up = false));
  }

  /** False only once Redis was reached and then lost: before the first connect, requests queue as usual. */
  get available(): boolean {
    return this.up || !this.everReady;
  }

  /** Readiness: is the connection up right now. */
  get connected(): boolean {
    return this.up;
  }
}

/**
 * Logs a connection's trouble once per outage (warn) and its recovery (info), instead of ioredis printing
 * "Unhandled error event" for every reconnect attempt.
 */
export function logConnectionTrouble(
  redis: Redis,
  name: string,
  logger: { warn(o: object, m?: string): void; info(o: object, m?: string): void },
): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ connection: name, err: err.message }, 'Redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ connection: name }, 'Redis connection back');
  });
}

const UNAVAILABLE_MESSAGES = [
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH/,
  /max retries per request/i,
  /connect ETIMEDOUT/i,
];

/** True for an error that says Redis could not be reached (as opposed to a bug or a client's mistake). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message));
}
