import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, newActivation } from '../support/device-helpers.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const run = promisify(execFile);
let redis: RedisServerHandle;
let t: TestRuntime;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, { WEB_PUSH: 'false' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-authenticator-'));
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function authenticator(...args: string[]) {
  try {
    const { stdout } = await run('scripts/authenticator', [...args, '--file', path.join(dir, 'device.json')]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

// Each command is a fresh tsx process (a second or two each, more on a loaded machine).
describe('scripts/authenticator (the reference authenticator)', { timeout: 120_000 }, () => {
  it('activates from the QR link, lists a push and approves it with the number and PIN', async () => {
    await createUser(t, 'ref');
    const { link } = await newActivation(t, 'ref');
    const activated = await authenticator('activate', link, '--name', 'CI');
    expect(activated).toMatchObject({ code: 0, out: expect.stringContaining('for ref') });
    expect((await stat(path.join(dir, 'device.json'))).mode & 0o077).toBe(0);

    const started = await t.api('/api/v1/verifications', { body: { username: 'ref', method: 'push' } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      status: 'pending',
      method: 'push',
      number: expect.stringMatching(/^\d{3}$/),
    });
    const listed = await authenticator('list', '--wait', '0');
    expect(listed.out).toContain(`${started.body.id}: Dialtone sign-in`);
    expect(listed.out).not.toContain(started.body.number);

    const approved = await authenticator('approve', started.body.number, '--pin', '4821', '--wait', '0');
    expect(approved).toEqual({ code: 0, out: `${started.body.id}: approved\n` });
    expect((await t.api(`/api/v1/verifications/${started.body.id}`)).body.status).toBe('approved');
  });

  it('denies, and says so when nothing is pending', async () => {
    const started = await t.api('/api/v1/verifications', { body: { username: 'ref', method: 'push' } });
    expect(await authenticator('deny', '--wait', '0')).toEqual({
      code: 0,
      out: `${started.body.id}: denied (denied-by-user)\n`,
    });
    expect(await authenticator('deny', '--wait', '0')).toEqual({ code: 1, out: 'no pending request\n' });
  });
});
