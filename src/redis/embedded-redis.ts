/**
 * The Redis that `npm start` runs when no REDIS_URL is configured: a `redis-server` child bound to the
 * loopback interface, with its append-only file in `dataDir` (so in-flight flows and queued jobs survive a
 * restart) and `noeviction` (BullMQ must never lose keys to eviction).
 */
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  encodeCommand,
  findFreePort,
  findRedisServerBinary,
  isPortFree,
  LOOPBACK,
  pingRedis,
  RedisStartError,
  sendRedisRequest,
  spawnRedisServer,
  waitForRedisPing,
} from './redis-process.js';

export const DEFAULT_EMBEDDED_REDIS_PORT = 6391;

/** Written in `dataDir` so a later start finds a server left running on a non-default port. */
const PORT_FILE = 'embedded-redis.port';

export interface EmbeddedRedisLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

export const REDIS_SERVER_MISSING_MESSAGE =
  'redis-server was not found on PATH. Either run `npm start` once as root (it installs redis-server), ' +
  'or install it yourself with `sudo apt-get install redis-server`, ' +
  'or set REDIS_URL to use an existing Redis server (redis://host:port).';

export async function startEmbeddedRedis(opts: {
  dataDir: string;
  port?: number;
  logger: EmbeddedRedisLogger;
}): Promise<EmbeddedRedis> {
  const { logger } = opts;
  const binary = findRedisServerBinary();
  if (binary === undefined) throw new Error(REDIS_SERVER_MISSING_MESSAGE);

  await mkdir(opts.dataDir, { recursive: true });
  const dataDir = await realpath(opts.dataDir);
  const requestedPort = opts.port ?? DEFAULT_EMBEDDED_REDIS_PORT;
  const portFile = path.join(dataDir, PORT_FILE);

  // A server on this dataDir may still be running (the previous process was killed before it could stop its
  // child). Never start a second one on the same append-only file: use the running one, and leave it running.
  for (const candidate of new Set([await readRecordedPort(portFile), requestedPort])) {
    if (candidate !== undefined && (await servesDataDir(candidate, dataDir))) {
      logger.warn(
        { port: candidate, dataDir },
        'embedded redis: a redis-server for this data directory is already running; using it (it will not be stopped on exit)',
      );
      return { url: `redis://${LOOPBACK}:${candidate}`, stop: async () => {} };
    }
  }

  for (let attempt = 1; ; attempt++) {
    let port = requestedPort;
    if (!(await isPortFree(port, LOOPBACK))) {
      port = await findFreePort(LOOPBACK);
      logger.warn(
        { requestedPort, port },
        'embedded redis: the requested port is used by another program; using a free port instead',
      );
    }
    // biome-ignore format: one flag and its value per line
    const redis = spawnRedisServer([
      '--bind', LOOPBACK,
      '--port', String(port),
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction',
      '--dir', dataDir,
      '--daemonize', 'no',
      '--save', '',
    ], { binary });
    // If this process exits without calling stop(), do not leave the server behind.
    const killOnExit = () => {
      if (!redis.hasExited()) redis.child.kill('SIGTERM');
    };
    process.once('exit', killOnExit);
    try {
      // Loading a large append-only file can take a while: allow more than the tests do.
      await waitForRedisPing(redis, port, { host: LOOPBACK, timeoutMs: 30_000 });
    } catch (error) {
      process.removeListener('exit', killOnExit);
      await redis.stop(5000);
      if (attempt === 1 && error instanceof RedisStartError && error.addressInUse) continue;
      throw error;
    }

    await writeFile(portFile, `${port}\n`).catch((error: unknown) =>
      logger.warn({ err: error, portFile }, 'embedded redis: could not record the port'),
    );
    const url = `redis://${LOOPBACK}:${port}`;
    logger.info({ port, dataDir, pid: redis.child.pid }, 'embedded redis started');
    let stopping: Promise<void> | undefined;
    redis.exited.then(() => {
      if (!stopping) {
        logger.warn(
          { code: redis.child.exitCode, signal: redis.child.signalCode, output: redis.output().slice(-2000) },
          'embedded redis exited unexpectedly',
        );
      }
    });
    return {
      url,
      stop() {
        stopping ??= (async () => {
          process.removeListener('exit', killOnExit);
          // SIGTERM: redis fsyncs the append-only file and exits; SIGKILL only if it hangs for 10 s.
          await redis.stop(10_000);
          logger.info(
            { port, code: redis.child.exitCode, signal: redis.child.signalCode },
            'embedded redis stopped',
          );
        })();
        return stopping;
      },
    };
  }
}

async function readRecordedPort(portFile: string): Promise<number | undefined> {
  try {
    const port = Number((await readFile(portFile, 'utf8')).trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** True when a Redis server answers on `port` and its working directory is `dataDir` (i.e. it is ours). */
async function servesDataDir(port: number, dataDir: string): Promise<boolean> {
  if (!(await pingRedis(port, { host: LOOPBACK, timeoutMs: 500 }))) return false;
  try {
    const reply = await sendRedisRequest(port, encodeCommand(['CONFIG', 'GET', 'dir']), {
      host: LOOPBACK,
      timeoutMs: 1000,
    });
    return Array.isArray(reply) && reply[1] === dataDir;
  } catch {
    return false;
  }
}

/** The URL of the private Redis `npm start` runs on `dataDir`, when it is running; for operator scripts. */
export async function embeddedRedisUrl(dataDir: string): Promise<string | undefined> {
  const port = await readRecordedPort(path.join(dataDir, PORT_FILE));
  if (port === undefined || !(await pingRedis(port, { host: LOOPBACK, timeoutMs: 500 }))) return undefined;
  return `redis://${LOOPBACK}:${port}`;
}
