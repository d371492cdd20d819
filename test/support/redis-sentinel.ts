/**
 * A throw-away Redis Sentinel setup for tests, in a temporary folder on free loopback ports: a master, one
 * replica and three sentinels (quorum 2) that notice a dead master after a second. `killMaster()` SIGKILLs the
 * master (no goodbye, as a crashed host); `stop()` ends everything and removes the folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  findFreePort,
  LOOPBACK,
  type RedisChild,
  spawnRedisServer,
  waitForRedisPing,
} from '../../src/redis/redis-process.js';

export const SENTINEL_MASTER_NAME = 'mfa-master';

export interface SentinelSetup {
  /** `host:port,host:port,host:port`, as REDIS_SENTINELS takes it. */
  sentinels: string;
  masterPort: number;
  replicaPort: number;
  killMaster(): Promise<void>;
  /** Starts the killed master again; the sentinels make it a replica of the promoted one. Resolves once synced. */
  restartOldMaster(): Promise<void>;
  /** Resolves with the port of the master the sentinels name, once it is not `oldPort`. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function redisNode(port: number, dir: string, extra: string[] = []): RedisChild {
  // biome-ignore format: one flag and its value per line
  return spawnRedisServer([
    '--port', String(port),
    '--bind', LOOPBACK,
    '--save', '',
    '--appendonly', 'yes',
    '--dir', dir,
    '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction',
    ...extra,
  ]);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`sentinel setup: timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-sentinel-'));
  const children: RedisChild[] = [];
  const clients: Redis[] = [];
  const client = (port: number) => {
    const redis = new Redis({ port, host: LOOPBACK, lazyConnect: true, maxRetriesPerRequest: 1 });
    clients.push(redis);
    return redis;
  };
  try {
    const masterPort = await findFreePort();
    const replicaPort = await findFreePort();
    const masterDir = path.join(dir, 'master');
    const replicaDir = path.join(dir, 'replica');
    await mkdir(masterDir);
    await mkdir(replicaDir);
    let master = redisNode(masterPort, masterDir);
    children.push(master);
    await waitForRedisPing(master, masterPort);
    const replica = redisNode(replicaPort, replicaDir, ['--replicaof', LOOPBACK, String(masterPort)]);
    children.push(replica);
    await waitForRedisPing(replica, replicaPort);
    const replicaClient = client(replicaPort);
    await until('the replica to sync', async () =>
      /master_link_status:up/.test(await replicaClient.info('replication')) ? true : undefined,
    );
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await findFreePort();
      const conf = path.join(dir, `sentinel-${i}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          `bind ${LOOPBACK}`,
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} ${LOOPBACK} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = spawnRedisServer([conf, '--sentinel']);
      children.push(sentinel);
      await waitForRedisPing(sentinel, port);
      sentinelPorts.push(port);
    }
    // A failover needs each sentinel to know the others and the replica (hello messages, every 2 s).
    for (const port of sentinelPorts) {
      const sentinel = client(port);
      await until('the sentinels to find each other and the replica', async () => {
        const others = (await sentinel.call('SENTINEL', 'SENTINELS', SENTINEL_MASTER_NAME)) as unknown[];
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as unknown[];
        return others.length >= 2 && replicas.length >= 1 ? true : undefined;
      });
    }
    const asker = client(sentinelPorts[0] ?? 0);
    return {
      sentinels: sentinelPorts.map((p) => `${LOOPBACK}:${p}`).join(','),
      masterPort,
      replicaPort,
      async killMaster() {
        master.child.kill('SIGKILL');
        await master.exited;
      },
      async restartOldMaster() {
        master = redisNode(masterPort, masterDir);
        children.push(master);
        await waitForRedisPing(master, masterPort);
        const old = client(masterPort);
        await until('the old master to replicate from the new one', async () => {
          const info = await old.info('replication');
          return /role:slave/.test(info) && /master_link_status:up/.test(info) ? true : undefined;
        });
      },
      waitForFailover(oldPort, timeoutMs = 30_000) {
        return until(
          'the failover',
          async () => {
            const [, port] = (await asker.call(
              'SENTINEL',
              'GET-MASTER-ADDR-BY-NAME',
              SENTINEL_MASTER_NAME,
            )) as [string, string];
            return Number(port) !== oldPort ? Number(port) : undefined;
          },
          timeoutMs,
        );
      },
      async stop() {
        for (const c of clients) c.disconnect();
        await Promise.all(children.map((c) => c.stop(2000)));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const c of clients) c.disconnect();
    await Promise.all(children.map((c) => c.stop(2000)));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
