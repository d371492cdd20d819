/** The portal session store's rules, against a real redis-server and a manual clock. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Keys } from '../../src/engine/keys.js';
import {
  DEFAULT_ABSOLUTE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  PortalSessionStore,
} from '../../src/portal/session-store.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const MINUTE = 60 * 1000;

let server: RedisServerHandle;
let redis: Redis;
let clock: ManualClock;
let store: PortalSessionStore;
const keys = new Keys('portal-unit');

beforeAll(async () => {
  server = await startRedisServer({ appendOnly: false });
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushall();
  clock = new ManualClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  store = new PortalSessionStore(redis, keys, clock);
});

describe('portal sessions: create and load', () => {
  it('creates an anonymous session with random 32-byte id and CSRF token, and loads it back', async () => {
    const session = await store.create();
    expect(session).toMatchObject({
      username: null,
      stage: 'anonymous',
      createdAt: clock.now(),
      lastSeenAt: clock.now(),
      data: {},
    });
    expect(Buffer.from(session.id, 'base64url')).toHaveLength(32);
    expect(Buffer.from(session.csrf, 'base64url')).toHaveLength(32);
    expect(session.csrf).not.toBe(session.id);
    expect(await store.load(session.id)).toEqual(session);
    const other = await store.create({ username: 'jdoe', stage: 'password', data: { a: 'b' } });
    expect(other.id).not.toBe(session.id);
    expect(await store.load(other.id)).toEqual(other);
  });

  it('stores under a digest of the id, and never the id itself', async () => {
    const session = await store.create();
    const stored = await redis.keys('*');
    expect(stored).toEqual([store.key(session.id)]);
    expect(stored[0]).toMatch(/^\{portal-unit\}:portal:session:/);
    expect(stored[0]).not.toContain(session.id);
    const fields = await redis.hgetall(stored[0]!);
    expect(JSON.stringify(fields)).not.toContain(session.id);
  });

  it('returns null for malformed or unknown ids without touching Redis keys', async () => {
    for (const id of ['', 'short', `${'a'.repeat(43)}=`, '../../etc', 'a'.repeat(44), 'é'.repeat(43)]) {
      expect(await store.load(id)).toBeNull();
    }
    expect(await store.load('A'.repeat(43))).toBeNull();
    expect(await redis.dbsize()).toBe(0);
  });

  it('refuses and deletes a corrupted entry', async () => {
    const session = await store.create();
    await redis.hset(store.key(session.id), 'stage', 'admin');
    expect(await store.load(session.id)).toBeNull();
    expect(await redis.exists(store.key(session.id))).toBe(0);

    const again = await store.create();
    await redis.hset(store.key(again.id), 'data', '{"n":1}');
    expect(await store.load(again.id)).toBeNull();
  });
});

describe('portal sessions: expiry', () => {
  it('uses 15 minutes idle and 8 hours absolute by default', () => {
    expect(store.idleTimeoutMs).toBe(DEFAULT_IDLE_TIMEOUT_MS);
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBe(15 * MINUTE);
    expect(store.absoluteTimeoutMs).toBe(DEFAULT_ABSOLUTE_TIMEOUT_MS);
    expect(DEFAULT_ABSOLUTE_TIMEOUT_MS).toBe(8 * 60 * MINUTE);
  });

  it('refuses and deletes a session idle for longer than the limit; each load restarts the idle timer', async () => {
    const session = await store.create();
    clock.advance(15 * MINUTE); // exactly the limit: still alive
    expect((await store.load(session.id))?.lastSeenAt).toBe(clock.now());
    clock.advance(10 * MINUTE);
    expect(await store.load(session.id)).not.toBeNull();
    clock.advance(15 * MINUTE + 1);
    expect(await store.load(session.id)).toBeNull();
    expect(await redis.exists(store.key(session.id))).toBe(0);
  });

  it('refuses a session older than the absolute limit, however active', async () => {
    const session = await store.create({ username: 'jdoe', stage: 'verified' });
    for (let elapsed = 0; elapsed < 8 * 60; elapsed += 10) {
      expect(await store.load(session.id), `after ${elapsed} min`).not.toBeNull();
      clock.advance(10 * MINUTE);
    }
    clock.advance(1);
    expect(await store.load(session.id)).toBeNull();
    expect(await redis.exists(store.key(session.id))).toBe(0);
  });

  it('takes its limits from the constructor and refuses nonsense', async () => {
    const short = new PortalSessionStore(redis, keys, clock, {
      idleTimeoutMs: MINUTE,
      absoluteTimeoutMs: 5 * MINUTE,
    });
    const session = await short.create();
    clock.advance(MINUTE + 1);
    expect(await short.load(session.id)).toBeNull();
    const busy = await short.create();
    for (let i = 0; i < 5; i++) {
      clock.advance(MINUTE);
      expect(await short.load(busy.id)).not.toBeNull();
    }
    clock.advance(1);
    expect(await short.load(busy.id)).toBeNull();
    expect(() => new PortalSessionStore(redis, keys, clock, { idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs/);
    expect(() => new PortalSessionStore(redis, keys, clock, { absoluteTimeoutMs: -1 })).toThrow(/absolute/);
  });

  it('sets the Redis TTL to the idle limit and refreshes it on use, never past the absolute end', async () => {
    const session = await store.create();
    const key = store.key(session.id);
    expect(await redis.pttl(key)).toBeGreaterThan(DEFAULT_IDLE_TIMEOUT_MS - 2000);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(DEFAULT_IDLE_TIMEOUT_MS);
    await redis.pexpire(key, 1000);
    await store.load(session.id);
    expect(await redis.pttl(key)).toBeGreaterThan(DEFAULT_IDLE_TIMEOUT_MS - 2000);
    // Five minutes before the absolute end, the TTL is five minutes.
    clock.set(session.createdAt + DEFAULT_ABSOLUTE_TIMEOUT_MS - 5 * MINUTE);
    await redis.hset(key, 'lastSeenAt', String(clock.now()));
    await store.load(session.id);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(5 * MINUTE);
    expect(await redis.pttl(key)).toBeGreaterThan(5 * MINUTE - 2000);
  });
});

describe('portal sessions: save, rotate, destroy', () => {
  it('saves changes, but never brings back a destroyed session', async () => {
    const session = await store.create();
    session.username = 'jdoe';
    session.stage = 'password';
    session.data = { step: 'phone', displayName: 'John' };
    expect(await store.save(session)).toBe(true);
    expect(await store.load(session.id)).toMatchObject({
      username: 'jdoe',
      stage: 'password',
      data: { step: 'phone', displayName: 'John' },
    });
    await store.destroy(session.id);
    expect(await store.save(session)).toBe(false);
    expect(await redis.exists(store.key(session.id))).toBe(0);
    expect(await store.load(session.id)).toBeNull();
  });

  it('rotates to a new id with the same content and a new CSRF token; the old id is gone', async () => {
    const session = await store.create({ username: 'jdoe', stage: 'password', data: { k: 'v' } });
    clock.advance(MINUTE);
    const rotated = await store.rotate(session);
    expect(rotated.id).not.toBe(session.id);
    expect(rotated.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.csrf).not.toBe(session.csrf);
    expect(rotated).toMatchObject({
      username: 'jdoe',
      stage: 'password',
      data: { k: 'v' },
      createdAt: session.createdAt,
      lastSeenAt: clock.now(),
    });
    expect(await store.load(session.id)).toBeNull();
    expect(await store.load(rotated.id)).toEqual(rotated);
    // The session and its user's index, which now names the new key under the same handle.
    expect((await redis.keys('*')).sort()).toEqual(
      [store.key(rotated.id), '{portal-unit}:portal:user-sessions:jdoe'].sort(),
    );
    expect(rotated.handle).toBe(session.handle);
    expect(await redis.hgetall('{portal-unit}:portal:user-sessions:jdoe')).toEqual({
      [session.handle]: store.key(rotated.id),
    });
  });

  it('applies changes when rotating; a sign-in starts the absolute lifetime afresh', async () => {
    const anonymous = await store.create({ data: { leftover: 'x' } });
    clock.advance(7 * 60 * MINUTE);
    await store.load(anonymous.id);
    const signedIn = await store.rotate(anonymous, { username: 'jdoe', stage: 'password', data: {} });
    expect(signedIn).toMatchObject({ username: 'jdoe', stage: 'password', data: {}, createdAt: clock.now() });
    // A later rotation (after the second factor) keeps the sign-in's start.
    clock.advance(MINUTE);
    const verified = await store.rotate(signedIn, { stage: 'verified' });
    expect(verified).toMatchObject({ username: 'jdoe', stage: 'verified', createdAt: signedIn.createdAt });
  });

  it('destroys a session, and ignores ids it could never have issued', async () => {
    const session = await store.create();
    await store.destroy(session.id);
    expect(await store.load(session.id)).toBeNull();
    await store.destroy('not-an-id');
    expect(await redis.dbsize()).toBe(0);
  });
});

describe('portal sessions: by user', () => {
  it('ends every other session of a user, whatever its rotations, and leaves other users alone', async () => {
    const mine = await store.create({ username: 'jdoe', stage: 'verified' });
    const laptop = await store.create({ username: 'JDoe', stage: 'verified' });
    const phone = await store.create({ username: 'jdoe', stage: 'password' });
    const someoneElse = await store.create({ username: 'ada', stage: 'verified' });
    const anonymous = await store.create();
    const rotatedLaptop = await store.rotate(laptop, { stage: 'verified' });
    const rotatedMine = await store.rotate(mine);

    expect(await store.endUserSessions('JDOE', rotatedMine.handle)).toBe(2);
    expect(await store.load(rotatedLaptop.id)).toBeNull();
    expect(await store.load(phone.id)).toBeNull();
    expect(await store.load(rotatedMine.id)).not.toBeNull();
    expect(await store.load(someoneElse.id)).not.toBeNull();
    expect(await store.load(anonymous.id)).not.toBeNull();
    // Without an exception, all of them; a second time, none is left.
    expect(await store.endUserSessions('jdoe')).toBe(1);
    expect(await store.load(rotatedMine.id)).toBeNull();
    expect(await store.endUserSessions('jdoe')).toBe(0);
  });

  it('gives a sign-in a new handle, forgets a destroyed session, and keeps the index no longer than a session', async () => {
    const anonymous = await store.create();
    const signedIn = await store.rotate(anonymous, { username: 'jdoe', stage: 'password' });
    expect(signedIn.handle).not.toBe(anonymous.handle);
    const index = '{portal-unit}:portal:user-sessions:jdoe';
    expect(Object.keys(await redis.hgetall(index))).toEqual([signedIn.handle]);
    expect(await redis.pttl(index)).toBeLessThanOrEqual(DEFAULT_ABSOLUTE_TIMEOUT_MS);
    await store.destroy(signedIn.id);
    expect(await redis.exists(index)).toBe(0);
    // The index holds session keys (digests), never a usable session id.
    const again = await store.create({ username: 'jdoe', stage: 'password' });
    expect(JSON.stringify(await redis.hgetall(index))).not.toContain(again.id);
  });
});
