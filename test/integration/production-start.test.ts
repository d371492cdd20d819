/**
 * `NODE_ENV=production npm start` runs the compiled build: the test builds it (`npm run build`), starts it with a
 * production configuration (external Redis, a real carrier's settings, SMTP, a company directory) and checks
 * `/readyz`, that the serving process is `node dist/src/main.js` (no tsx in the process tree), that development
 * tools are not mounted, and that a production configuration missing SMTP_URL is refused before listening.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandLine,
  descendants,
  type ProductionProcess,
  startProduction,
} from '../../scripts/production-process.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { type SmtpServerHandle, startSmtpServer } from '../support/smtp-server.js';

const run = promisify(execFile);
let redis: RedisServerHandle;
let smtp: SmtpServerHandle;
let dataDir: string;

async function productionEnv(): Promise<{ env: Record<string, string>; baseUrl: string }> {
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      REDIS_URL: redis.url,
      API_KEY: 'prod-api-key-0123456789',
      SIGNING_KEY: 'prod-signing-key-0123456789',
      SECRET_KEY: 'prod-secret-key-0123456789',
      DATA_DIR: dataDir,
      CARRIER: 'signalwire-cxml',
      // Nothing is sent in this test: the space is never called.
      SIGNALWIRE_SPACE_URL: 'http://127.0.0.1:9',
      SIGNALWIRE_PROJECT_ID: 'project',
      SIGNALWIRE_API_TOKEN: 'token',
      SIGNALWIRE_FROM_NUMBER: '+12025550100',
      SMTP_URL: smtp.url,
      // The directory is only asked at a portal sign-in, which this test does not do.
      LDAP_URL: 'ldap://127.0.0.1:9',
      LDAP_ALLOW_CLEARTEXT: 'true',
      LDAP_BASE_DN: 'dc=example,dc=test',
      LDAP_BIND_DN: 'cn=svc,dc=example,dc=test',
      LDAP_BIND_PASSWORD: 'x',
      LOG_LEVEL: 'warn',
    },
  };
}

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startRedisServer(), startSmtpServer()]);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mfa-prod-'));
  await run('npm', ['run', 'build', '--silent'], { maxBuffer: 16 * 1024 * 1024 }).catch((error) => {
    throw new Error(`npm run build failed:\n${error.stdout}${error.stderr}`);
  });
}, 240_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), smtp?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('NODE_ENV=production npm start', () => {
  let server: ProductionProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('runs the compiled build, is ready, and mounts no development tools', async () => {
    const { env, baseUrl } = await productionEnv();
    server = await startProduction(env, { baseUrl });

    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { carrier: { name: string } } };
    expect(body.checks.carrier.name).toBe('signalwire-cxml');

    const commands = [server.child.pid ?? 0, ...descendants(server.child.pid ?? 0)].map((pid) => {
      try {
        return commandLine(pid);
      } catch {
        return '';
      }
    });
    expect(commandLine(server.serverPid)).toMatch(/^\S*node dist\/src\/main\.js$/);
    expect(commands.filter((c) => /tsx/.test(c))).toEqual([]);

    for (const devPath of ['/dev/phone', '/dev/mail', '/dev/carrier/messages'])
      expect((await fetch(`${baseUrl}${devPath}`)).status, devPath).toBe(404);
    const api = await fetch(`${baseUrl}/api/v1/users`, {
      headers: { authorization: `Bearer ${env.API_KEY}` },
    });
    expect(api.status).toBe(200);
    expect(server.rssBytes()).toBeGreaterThan(0);
  });

  it('refuses to start without SMTP_URL, naming it, before listening', async () => {
    const { env, baseUrl } = await productionEnv();
    const { SMTP_URL: _omitted, ...withoutSmtp } = env;
    const failure = await startProduction({ ...withoutSmtp, SMTP_URL: '' }, { baseUrl }).then(
      async (started) => {
        await started.stop();
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/exited with 1/);
    expect(failure).toMatch(/SMTP_URL: required when NODE_ENV=production/);
    expect(await fetch(`${baseUrl}/healthz`).catch(() => 'refused')).toBe('refused');
  });
});
