import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/load-config.js';

export type RedisTarget = Pick<Config, 'redisUrl' | 'redisSentinel'>;

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/**
 * A connection to the configured Redis: a URL, or the master that Sentinel names. With Sentinel, every
 * reconnect asks the sentinels again, so after a failover the connection finds the promoted replica by itself;
 * BullMQ's connections (and their `duplicate()`s) carry the same settings.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): Redis {
  const sentinel = target.redisSentinel;
  if (!sentinel) return new Redis(target.redisUrl ?? DEFAULT_URL, options);
  return new Redis({
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    // Sentinels unreachable for a moment: ask again soon rather than give up.
    sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    ...options,
  });
}
