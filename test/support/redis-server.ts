/**
 * A throw-away `redis-server` for tests: free loopback port, temporary folder, no RDB snapshots,
 * `noeviction` (as BullMQ requires). `stop()` terminates it and removes the folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  findFreePort,
  LOOPBACK,
  RedisStartError,
  spawnRedisServer,
  waitForRedisPing,
} from '../../src/redis/redis-process.js';

export type RedisServerHandle = {
  url: string;
  port: number;
  dir: string;
  /** Stops the server (an outage), keeping its folder and port. */
  pause(): Promise<void>;
  /** Starts it again on the same port with the same data (the append-only file). */
  resume(): Promise<void>;
  stop(): Promise<void>;
};

function spawnOn(port: number, dir: string, appendOnly: boolean) {
  // biome-ignore format: one flag and its value per line
  return spawnRedisServer([
    '--port', String(port),
    '--bind', LOOPBACK,
    '--save', '',
    '--appendonly', appendOnly ? 'yes' : 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction',
  ]);
}

export async function startRedisServer(opts: { appendOnly?: boolean } = {}): Promise<RedisServerHandle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-redis-'));
  const appendOnly = opts.appendOnly !== false;
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort(LOOPBACK);
      let redis = spawnOn(port, dir, appendOnly);
      try {
        await waitForRedisPing(redis, port, { host: LOOPBACK, timeoutMs: 10_000 });
      } catch (error) {
        await redis.stop(1000);
        // Another process took the port between findFreePort and redis binding it: try once more.
        if (attempt === 1 && error instanceof RedisStartError && error.addressInUse) continue;
        throw error;
      }
      let stopping: Promise<void> | undefined;
      return {
        url: `redis://${LOOPBACK}:${port}`,
        port,
        dir,
        async pause() {
          await redis.stop(5000);
        },
        async resume() {
          redis = spawnOn(port, dir, appendOnly);
          await waitForRedisPing(redis, port, { host: LOOPBACK, timeoutMs: 10_000 });
        },
        stop() {
          stopping ??= (async () => {
            await redis.stop(5000);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopping;
        },
      };
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
