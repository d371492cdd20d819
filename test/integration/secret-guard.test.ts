/**
 * The secret guard and its escalating lockout against a real redis-server: the counting is a Lua script, so
 * these tests run it for real, with a manual clock.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Keys } from '../../src/engine/keys.js';
import { AppError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { SecretGuard } from '../../src/security/secret-guard.js';
import { AuditLog } from '../../src/store/audit-log.js';
import { UserStore } from '../../src/store/user-store.js';
import { lockState } from '../../src/users/user.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const MINUTE = 60_000;
const lockout = { threshold: 10, minutes: 15, max: 5, decayHours: 24 };

let server: RedisServerHandle;
let redis: Redis;
let users: UserStore;
let audit: AuditLog;
let clock: ManualClock;
let guard: SecretGuard;
let seq = 0;
let name = '';

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  const keys = new Keys(`guard${Date.now()}`);
  users = new UserStore(redis, keys);
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  audit = new AuditLog(redis, keys, clock);
  guard = new SecretGuard({ users, clock, config: { lockout }, audit, logger: createLogger('silent') });
});
afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});
beforeEach(() => {
  seq += 1;
  name = `user${seq}`;
});

const wrong = () => guard.check(name, 'pin', async () => false);
const right = () => guard.check(name, 'pin', async () => true);
async function wrongTimes(n: number) {
  const results = [];
  for (let i = 0; i < n; i += 1) results.push(await wrong());
  return results;
}
const lockOf = async () => lockState(await users.standing(name), clock.now());
async function untilUnlocked() {
  const lock = await lockOf();
  if (lock.locked && lock.until !== null) clock.set(lock.until);
}

describe('the secret guard', () => {
  it('locks after LOCKOUT_THRESHOLD wrong answers and then refuses without asking the secret', async () => {
    const results = await wrongTimes(10);
    expect(results.slice(0, 9)).toEqual(Array(9).fill({ ok: false, locked: false }));
    expect(results[9]).toEqual({ ok: false, locked: true, retryAt: clock.now() + 15 * MINUTE });
    let asked = false;
    const refused = await guard.check(name, 'pin', async () => {
      asked = true;
      return true;
    });
    expect(refused).toEqual({ ok: false, locked: true, retryAt: clock.now() + 15 * MINUTE });
    expect(asked).toBe(false);
    await expect(guard.assertMayTry(name)).rejects.toMatchObject({ statusCode: 423, code: 'user_locked' });
    clock.advance(15 * MINUTE);
    expect(await right()).toEqual({ ok: true });
  });

  it('doubles each lock, and the LOCKOUT_MAX-th lock is hard: time does not lift it, an unlock does', async () => {
    const lengths: (number | null)[] = [];
    for (let lock = 1; lock <= 5; lock += 1) {
      const last = (await wrongTimes(10)).at(-1)!;
      expect(last).toMatchObject({ ok: false, locked: true });
      const state = await lockOf();
      lengths.push(state.locked && state.until !== null ? (state.until - clock.now()) / MINUTE : null);
      await untilUnlocked();
    }
    expect(lengths).toEqual([15, 30, 60, 120, null]);
    clock.advance(365 * 24 * 60 * MINUTE);
    expect(await lockOf()).toEqual({ locked: true, hard: true, until: null });
    expect(await right()).toEqual({ ok: false, locked: true });
    await expect(guard.assertMayTry(name)).rejects.toMatchObject({
      statusCode: 423,
      details: { hard: true },
    });
    const events = (await audit.recent(20)).filter((e) => e.userId === name).map((e) => e.event);
    expect(events.filter((e) => e === 'user.locked')).toHaveLength(4);
    expect(events).toContain('user.hard-locked');

    await guard.unlock(name, 'api-key');
    expect(await lockOf()).toEqual({ locked: false });
    expect((await audit.recent(1))[0]).toMatchObject({ event: 'user.unlocked', data: { actor: 'api-key' } });
    // The escalation starts again from the first lock.
    await wrongTimes(10);
    const state = await lockOf();
    expect(state.locked && state.until !== null && (state.until - clock.now()) / MINUTE).toBe(15);
  });

  it('a right answer resets the count of failures, not the escalation level', async () => {
    await wrongTimes(9);
    expect(await right()).toEqual({ ok: true });
    expect((await users.standing(name)).failures).toBe(0);
    await wrongTimes(10); // lock 1: 15 minutes
    await untilUnlocked();
    expect(await right()).toEqual({ ok: true });
    await wrongTimes(10); // lock 2, despite the success in between
    const state = await lockOf();
    expect(state.locked && state.until !== null && (state.until - clock.now()) / MINUTE).toBe(30);
  });

  it('forgets the escalation after LOCKOUT_DECAY_HOURS without failures or locks', async () => {
    await wrongTimes(10);
    await untilUnlocked();
    await wrongTimes(10); // 30 minutes
    await untilUnlocked();
    clock.advance(24 * 60 * MINUTE - 1);
    await wrongTimes(10); // not quiet long enough: 60 minutes
    let state = await lockOf();
    expect(state.locked && state.until !== null && (state.until - clock.now()) / MINUTE).toBe(60);
    await untilUnlocked();
    clock.advance(24 * 60 * MINUTE);
    await wrongTimes(10);
    state = await lockOf();
    expect(state.locked && state.until !== null && (state.until - clock.now()) / MINUTE).toBe(15);
  });

  it('lets no parallel guess past the threshold: 40 at once, 10 compared', async () => {
    let compared = 0;
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        guard.check(name, 'pin', async () => {
          compared += 1;
          await new Promise((r) => setImmediate(r));
          return false;
        }),
      ),
    );
    expect(compared).toBe(10);
    expect(results.filter((r) => !r.ok && r.locked)).toHaveLength(31);
  });

  it('does not lock when the attempt that reached the threshold proves right', async () => {
    await wrongTimes(9);
    expect(await right()).toEqual({ ok: true });
    expect(await lockOf()).toEqual({ locked: false });
    expect((await users.standing(name)).lockLevel).toBe(0);
  });

  it('counts a check that throws as a failure', async () => {
    await wrongTimes(9);
    await expect(
      guard.check(name, 'pin', async () => {
        throw new Error('hash store down');
      }),
    ).rejects.toThrow('hash store down');
    expect((await lockOf()).locked).toBe(true);
  });

  it('shares one count with failed verifications (the recordOutcome effect)', async () => {
    for (let i = 0; i < 6; i += 1) await guard.recordOutcome(name, 'failure');
    await wrongTimes(3);
    expect((await lockOf()).locked).toBe(false);
    expect((await wrong()).ok).toBe(false);
    expect((await lockOf()).locked).toBe(true);
    await untilUnlocked();
    await guard.recordOutcome(name, 'success');
    for (let i = 0; i < 10; i += 1) await guard.recordOutcome(name, 'failure');
    const state = await lockOf();
    expect(state.locked && state.until !== null && (state.until - clock.now()) / MINUTE).toBe(30);
  });

  it('refuses a blocked user with 403 and tries nothing', async () => {
    await users.block(name, clock.now() + MINUTE, 'fraud-report');
    await expect(guard.assertMayTry(name)).rejects.toBeInstanceOf(AppError);
    await expect(guard.assertMayTry(name)).rejects.toMatchObject({ statusCode: 403, code: 'user_blocked' });
    expect(await right()).toEqual({ ok: false, locked: true });
    expect((await users.standing(name)).failures).toBe(0);
  });
});
