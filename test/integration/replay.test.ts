import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { codeIn, createUser, replyFrom, waitForStatus, waitForTexts } from '../support/sms-helpers.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const run = promisify(execFile);
let redis: RedisServerHandle;
let t: TestRuntime;
let dir: string;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url);
  dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-replay-'));
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function replay(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('scripts/replay', args, { env: { ...process.env, REDIS_URL: redis.url } });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('scripts/replay', () => {
  it('exports a recorded flow and reproduces it; reports the first divergence of a tampered log', async () => {
    const mobile = '+12025559001';
    await createUser(t, { username: 'replayer', phones: { mobile }, pin: '4821' });
    const { body } = await t.api('/api/v1/verifications', { body: { username: 'replayer' } });
    const code = codeIn((await waitForTexts(t, mobile, 1))[0]!);
    await replyFrom(t, mobile, '000000 4821');
    await waitForTexts(t, mobile, 2);
    await replyFrom(t, mobile, `${code} 4821`);
    await waitForStatus(t, body.id, 'approved');

    const file = path.join(dir, 'flow.jsonl');
    expect((await replay('export', body.id, file)).code).toBe(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4); // header, start, wrong answer, right answer
    expect(lines.join('\n')).not.toContain(code); // the code itself is never recorded

    const fromFile = await replay(file);
    expect(fromFile.code).toBe(0);
    expect(fromFile.out).toContain('v3 REPLY -> "approved" (approved)');
    expect(fromFile.out).toContain('identical');
    expect((await replay(body.id)).code).toBe(0);

    const tampered = lines.map((line, i) => (i === 2 ? line.replace('"attempts":1', '"attempts":0') : line));
    const tamperedFile = path.join(dir, 'tampered.jsonl');
    await writeFile(tamperedFile, `${tampered.join('\n')}\n`);
    const diverged = await replay(tamperedFile);
    expect(diverged.code).toBe(1);
    expect(diverged.out).toContain('first divergence at v2 (REPLY): context differ');
  });

  it('explains an unknown flow', async () => {
    const result = await replay('no-such-flow');
    expect(result.code).toBe(2);
    expect(result.out).toContain('no flow no-such-flow');
  });
});
