import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REDIS_SERVER_MISSING_MESSAGE, startEmbeddedRedis } from '../../src/redis/embedded-redis.js';
import { checkRedisDurability } from '../../src/redis/redis-health-check.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import { startRedisServer } from '../support/redis-server.js';

const TIMEOUT = 30_000;

function recordingLogger() {
  const infos: { o: object; m?: string }[] = [];
  const warns: { o: object; m?: string }[] = [];
  return {
    infos,
    warns,
    info: (o: object, m?: string) => void infos.push({ o, m }),
    warn: (o: object, m?: string) => void warns.push({ o, m }),
  };
}

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

describe('startRedisServer (test support)', () => {
  it(
    'starts a durable, non-evicting server and removes everything on stop',
    async () => {
      const server = await startRedisServer();
      try {
        expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
        expect(await exists(server.dir)).toBe(true);
        await withClient(server.url, async (redis) => {
          await redis.set('greeting', 'hello');
          expect(await redis.get('greeting')).toBe('hello');
          expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
          expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
        });
      } finally {
        await server.stop();
      }
      expect(await accepts(server.port)).toBe(false);
      expect(await exists(server.dir)).toBe(false);
      await server.stop(); // idempotent
    },
    TIMEOUT,
  );

  it(
    'honours appendOnly: false',
    async () => {
      const server = await startRedisServer({ appendOnly: false });
      try {
        await withClient(server.url, async (redis) => {
          expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
        });
      } finally {
        await server.stop();
      }
    },
    TIMEOUT,
  );
});

describe('checkRedisDurability', () => {
  it(
    'returns no warning on a durable server and one per bad setting otherwise',
    async () => {
      const server = await startRedisServer();
      try {
        await withClient(server.url, async (redis) => {
          const okLogger = recordingLogger();
          expect(await checkRedisDurability(redis, okLogger)).toEqual([]);
          expect(okLogger.warns).toEqual([]);

          await redis.config('SET', 'appendonly', 'no');
          await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
          const badLogger = recordingLogger();
          const warnings = await checkRedisDurability(redis, badLogger);
          expect(warnings).toHaveLength(2);
          expect(warnings.join('\n')).toMatch(/allkeys-lru/);
          expect(warnings.join('\n')).toMatch(/appendonly/);
          expect(badLogger.warns).toHaveLength(2);
        });
      } finally {
        await server.stop();
      }
    },
    TIMEOUT,
  );

  it('returns one warning when CONFIG is unavailable', async () => {
    const logger = recordingLogger();
    const disabled = {
      config: async () => {
        throw new Error("ERR unknown command 'CONFIG'");
      },
    };
    const warnings = await checkRedisDurability(disabled, logger);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not check/i);
    expect(logger.warns).toHaveLength(1);
  });
});

describe('startEmbeddedRedis', () => {
  it(
    'keeps its append-only file in dataDir, survives a restart and stops cleanly',
    async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'mfa-embedded-'));
      const dataDir = path.join(root, 'var', 'redis');
      const port = await findFreePort();
      try {
        const logger = recordingLogger();
        const first = await startEmbeddedRedis({ dataDir, port, logger });
        expect(first.url).toBe(`redis://127.0.0.1:${port}`);
        await withClient(first.url, async (redis) => {
          expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
          expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
          expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
          await redis.set('flow:1', 'waiting-for-pin');
        });
        await first.stop();
        expect(await accepts(port)).toBe(false);
        expect((await readdir(dataDir)).some((name) => name.startsWith('appendonly'))).toBe(true);
        expect(logger.warns).toEqual([]);

        // The append-only file written on SIGTERM brings the key back.
        const second = await startEmbeddedRedis({ dataDir, port, logger });
        try {
          await withClient(second.url, async (redis) => {
            expect(await redis.get('flow:1')).toBe('waiting-for-pin');
          });
        } finally {
          await second.stop();
        }
        expect(await accepts(port)).toBe(false);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  it(
    'picks a free port when the requested one is used by another program',
    async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mfa-embedded-'));
      // Accepts connections and never answers: not a Redis server.
      const connections = new Set<net.Socket>();
      const blocker = net.createServer((socket) => {
        connections.add(socket);
        socket.on('close', () => connections.delete(socket));
        socket.resume();
      });
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as net.AddressInfo).port;
      try {
        const logger = recordingLogger();
        const embedded = await startEmbeddedRedis({ dataDir, port: taken, logger });
        try {
          expect(embedded.url).not.toBe(`redis://127.0.0.1:${taken}`);
          await withClient(embedded.url, async (redis) => expect(await redis.ping()).toBe('PONG'));
          expect(logger.warns).toHaveLength(1);
        } finally {
          await embedded.stop();
        }
      } finally {
        for (const socket of connections) socket.destroy();
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  it(
    'reuses, and leaves running, a server already serving the same dataDir',
    async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mfa-embedded-'));
      const port = await findFreePort();
      const logger = recordingLogger();
      const owner = await startEmbeddedRedis({ dataDir, port, logger });
      try {
        const again = await startEmbeddedRedis({ dataDir, port, logger });
        expect(again.url).toBe(owner.url);
        await again.stop();
        expect(await accepts(port)).toBe(true);
      } finally {
        await owner.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  it('explains what to do when redis-server is not installed', async () => {
    const savedPath = process.env.PATH;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mfa-embedded-'));
    process.env.PATH = path.join(dataDir, 'no-such-bin');
    try {
      await expect(startEmbeddedRedis({ dataDir, logger: recordingLogger() })).rejects.toThrow(
        REDIS_SERVER_MISSING_MESSAGE,
      );
    } finally {
      process.env.PATH = savedPath;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
