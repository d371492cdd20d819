/**
 * What `npm run bench` runs, each in a process of its own: a private redis-server, the fake carrier, the bare
 * baseline, and the engine as production runs it (the compiled build, `NODE_ENV=production npm start`, the cXML
 * carrier adapter pointed at the fake carrier). Also the Redis and CPU counters the bench reads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../src/redis/embedded-redis.js';
import { findFreePort } from '../src/redis/redis-process.js';
import { BENCH_API_KEY, BENCH_SERVICE_NUMBER, BENCH_SIGNING_KEY } from './bench-server.js';
import { processCpuMs, startProduction } from './production-process.js';

export interface Stack {
  engineUrl: string;
  bareUrl: string;
  carrierUrl: string;
  redis: Redis;
  engine: { startupMs: number; rssBytes(): number; cpuMs(): number };
  bare: { cpuMs(): number };
  stop(): Promise<void>;
}

/** Builds dist/ when it is missing or older than a source file (production runs the build). */
export function ensureBuild(): void {
  const built = path.join('dist', 'src', 'main.js');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const newest = Math.max(...['src', 'flows', 'webhooks', 'web'].map((dir) => newestMtime(dir)));
  if (newest <= builtAt) return;
  console.log('bench: building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

/** Spawns a TypeScript script that prints `{"url"}` on its first line. */
async function spawnScript(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    cpuMs: () => processCpuMs(child.pid ?? 0),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

export async function startStack(options: { extraEnv?: Record<string, string> } = {}): Promise<Stack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mfa-bench-'));
  const quiet = { info() {}, warn() {} };
  const embedded = await startEmbeddedRedis({ dataDir: dir, port: await findFreePort(), logger: quiet });
  const carrier = await spawnScript('scripts/bench-carrier.ts', { BENCH_SIGNING_KEY });
  const bare = await spawnScript('scripts/bench-server.ts', { BENCH_CARRIER_URL: carrier.url });
  const port = await findFreePort();
  const engineUrl = `http://127.0.0.1:${port}`;
  const engine = await startProduction(
    {
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: engineUrl,
      REDIS_URL: embedded.url,
      API_KEY: BENCH_API_KEY,
      SIGNING_KEY: BENCH_SIGNING_KEY,
      SECRET_KEY: 'bench-secret-key-0123456789',
      DATA_DIR: dir,
      CARRIER: 'signalwire-cxml',
      SIGNALWIRE_SPACE_URL: carrier.url,
      SIGNALWIRE_PROJECT_ID: 'bench',
      SIGNALWIRE_API_TOKEN: 'bench-token',
      SIGNALWIRE_FROM_NUMBER: BENCH_SERVICE_NUMBER,
      // No mail is sent by the bench; the mailer's start-up check only warns.
      SMTP_URL: 'smtp://127.0.0.1:9',
      LDAP_URL: 'ldap://127.0.0.1:9',
      LDAP_ALLOW_CLEARTEXT: 'true',
      LDAP_BASE_DN: 'dc=bench',
      LDAP_BIND_DN: 'cn=svc,dc=bench',
      LDAP_BIND_PASSWORD: 'bench',
      LOG_LEVEL: 'error',
      SEND_LIMIT: '20',
      PUSH_LIMIT: '20',
      WEB_PUSH: 'false',
      PIN_MIN_LENGTH: '6',
      // The load generator is one address: the per-address limit would measure 429s.
      RATE_LIMIT_MAX: '0',
      ...options.extraEnv,
    },
    { baseUrl: engineUrl },
  );
  const redis = new Redis(embedded.url);
  return {
    engineUrl,
    bareUrl: bare.url,
    carrierUrl: carrier.url,
    redis,
    engine,
    bare,
    async stop() {
      await engine.stop();
      await Promise.all([bare.stop(), carrier.stop()]);
      redis.disconnect();
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every command Redis ran, as INFO commandstats counts them (commands called inside Lua scripts included). */
export async function redisCommandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (match[1] !== 'info') total += Number(match[2]);
  return total;
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? 0);
}
