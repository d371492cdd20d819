import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { codeIn, createUser, replyFrom, textsTo, waitForStatus } from '../support/sms-helpers.js';
import { effectsSettled, eventually, startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

const USERS = 8;
const isCodeText = (body: string) => /\b\d{6}\b/.test(body);

let redis: RedisServerHandle;
/** The surviving process: webhooks and the simulator, no workers (the dying one and the restarted one run them). */
let t: TestRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await startTestRuntime(redis.url, {}, { workers: false });
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

describe('an engine process killed (SIGKILL) while texts are in flight', () => {
  it('sends no code text after approval, and the stranded texts go out within 10 s of the restart', async () => {
    const users: { username: string; mobile: string; id: string }[] = [];
    for (let i = 0; i < USERS; i += 1) {
      const username = `inflight${i}`;
      const mobile = `+1202555${String(6500 + i)}`;
      await createUser(t, { username, phones: { mobile } });
      const { body } = await t.api('/api/v1/verifications', { body: { username } });
      users.push({ username, mobile, id: body.id });
    }

    // The worker process takes the queued texts and dies right after the carrier accepted the first one.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/crash-during-send.ts', redis.url, t.baseUrl],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect({ code, signal, stderr: stderr.slice(0, 500) }).toMatchObject({ code: null, signal: 'SIGKILL' });

    // Whoever got a text before the crash replies and is approved while no worker runs.
    const early: typeof users = [];
    for (const user of users) {
      const [text] = await textsTo(t, user.mobile);
      if (!text) continue;
      await replyFrom(t, user.mobile, codeIn(text));
      await waitForStatus(t, user.id, 'approved');
      early.push(user);
    }
    expect(early.length).toBe(3);

    // The restart: a new process with workers. The stranded jobs are still locked by the dead one.
    const restarted = await startTestRuntime(redis.url, { PUBLIC_URL: t.baseUrl }, { listen: false });
    const restartAt = Date.now();
    restarted.runtime.startWorkers();
    try {
      const late = users.filter((u) => !early.includes(u));
      for (const user of late) {
        const [text] = await eventually(
          async () => {
            const texts = await textsTo(t, user.mobile);
            return texts.length ? texts : undefined;
          },
          15_000,
          `the stranded code text to ${user.mobile}`,
        );
        await replyFrom(t, user.mobile, codeIn(text!));
      }
      const resumedWithinMs = Date.now() - restartAt;
      expect(resumedWithinMs).toBeLessThan(10_000);
      for (const user of users) await waitForStatus(t, user.id, 'approved');
      await effectsSettled(restarted);

      for (const user of users) {
        const texts = (await textsTo(t, user.mobile)).map((m) => m.body);
        const verdict = texts.findIndex((body) => body.startsWith('You are verified'));
        expect(verdict, `${user.username}: ${texts.join(' | ')}`).toBeGreaterThan(0);
        // Nothing after the verdict, and every repeat before it carries the one code.
        expect(texts.slice(verdict + 1)).toEqual([]);
        const codes = new Set(
          texts
            .slice(0, verdict)
            .filter(isCodeText)
            .map((body) => /\d{6}/.exec(body)?.[0]),
        );
        expect(codes.size).toBe(1);
      }
      console.info(
        `crash during send: ${early.length}/${USERS} texts out before the kill, the rest resumed within ${resumedWithinMs} ms of the restart`,
      );
    } finally {
      await restarted.stop();
    }
  });
});
