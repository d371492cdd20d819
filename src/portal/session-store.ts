/**
 * Server-side portal sessions in Redis. The browser holds only a random 256-bit id; everything else lives here.
 *
 * - A session is refused (and deleted) when it was idle longer than `idleTimeoutMs` or is older than
 *   `absoluteTimeoutMs`, judged by the injected Clock, so tests move time by hand.
 * - The Redis TTL follows the idle limit (capped by the absolute limit) and is refreshed on every load, so an
 *   abandoned session disappears by itself.
 * - The key is a SHA-256 digest of the id and the stored hash does not hold the id: a key listing or a dump of
 *   Redis yields no usable session id. Ids are never logged (this module logs nothing).
 * - `save` only writes a session that still exists, so a request that loaded a session before a logout in
 *   another tab cannot bring it back.
 * - Signed-in sessions are indexed by user (`{tag}:portal:user-sessions:<username>`: each session's handle ->
 *   its key), so a factor change, a block or a fraud report can end every other session of that user. The
 *   handle is a random name that survives rotation (it is not an id: it opens nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Keys } from '../engine/keys.js';
import { usernameKey } from '../users/user.js';

export type PortalStage = 'anonymous' | 'password' | 'verified';

export const PORTAL_STAGES: readonly PortalStage[] = ['anonymous', 'password', 'verified'];

export interface PortalSession {
  id: string;
  /** Names the session across rotations, for ending the others (`endUserSessions`); not a credential. */
  handle: string;
  username: string | null;
  stage: PortalStage;
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  data: Record<string, string>;
}

/** What `create` and `rotate` may set besides the id, the CSRF token and the times. */
export interface PortalSessionChanges {
  username?: string | null;
  stage?: PortalStage;
  data?: Record<string, string>;
}

export interface PortalSessionStoreOptions {
  /** Refuse a session not used for this long (default 15 min). Also the Redis TTL. */
  idleTimeoutMs?: number;
  /** Refuse a session older than this, however active (default 8 h). */
  absoluteTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
export const DEFAULT_ABSOLUTE_TIMEOUT_MS = 8 * 60 * 60 * 1000;

const ID_BYTES = 32;
/** 32 bytes in base64url, no padding. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Writes the fields only when the key still exists, then sets the TTL. KEYS[1]; ARGV = ttlMs, field, value... */
const SAVE_IF_EXISTS = `
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV, 2))
redis.call('pexpire', KEYS[1], ARGV[1])
return 1
`;

export function newSessionSecret(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** True when `id` has the shape of a session id (checked before any Redis call). */
export function isSessionIdShape(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID.test(id);
}

export class PortalSessionStore {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly clock: Clock,
    options: PortalSessionStoreOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.absoluteTimeoutMs = options.absoluteTimeoutMs ?? DEFAULT_ABSOLUTE_TIMEOUT_MS;
    for (const [name, value] of [
      ['idleTimeoutMs', this.idleTimeoutMs],
      ['absoluteTimeoutMs', this.absoluteTimeoutMs],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new Error(`portal sessions: ${name} must be > 0`);
    }
  }

  /** A new session (anonymous unless told otherwise), stored at once. */
  async create(changes: PortalSessionChanges = {}): Promise<PortalSession> {
    const now = this.clock.now();
    const session: PortalSession = {
      id: newSessionSecret(),
      handle: newHandle(),
      username: changes.username ?? null,
      stage: changes.stage ?? 'anonymous',
      csrf: newSessionSecret(),
      createdAt: now,
      lastSeenAt: now,
      data: { ...(changes.data ?? {}) },
    };
    const key = this.key(session.id);
    const transaction = this.redis.multi().hset(key, toFields(session)).pexpire(key, this.ttl(session, now));
    this.index(transaction, session, key);
    await transaction.exec().then(throwOnExecError);
    return session;
  }

  /**
   * The live session with this id, its `lastSeenAt` moved to now and its TTL refreshed; `null` when the id is
   * malformed, unknown, unreadable, idle too long or too old (the last three are deleted).
   */
  async load(id: string): Promise<PortalSession | null> {
    if (!isSessionIdShape(id)) return null;
    const key = this.key(id);
    const fields = await this.redis.hgetall(key);
    if (Object.keys(fields).length === 0) return null;
    const session = fromFields(id, fields);
    const now = this.clock.now();
    if (session === null || this.expired(session, now)) {
      await this.redis.del(key);
      return null;
    }
    session.lastSeenAt = now;
    await this.redis.eval(SAVE_IF_EXISTS, 1, key, String(this.ttl(session, now)), 'lastSeenAt', String(now));
    return session;
  }

  /** Writes the session back (username, stage, data, CSRF token). False when it no longer exists. */
  async save(session: PortalSession): Promise<boolean> {
    const now = this.clock.now();
    if (!isSessionIdShape(session.id) || this.expired(session, now)) return false;
    const args = Object.entries(toFields(session)).flat();
    const written = await this.redis.eval(
      SAVE_IF_EXISTS,
      1,
      this.key(session.id),
      String(this.ttl(session, now)),
      ...args,
    );
    return written === 1;
  }

  /**
   * The same session under a new random id (the old id is deleted in the same transaction), with `changes`
   * applied and a new CSRF token: a token known under the old id (a fixated session) must not survive a login.
   * `createdAt` is kept, so rotation never extends the absolute lifetime, except when an anonymous session
   * becomes a signed-in one: the signed-in life starts at the login.
   */
  async rotate(session: PortalSession, changes: PortalSessionChanges = {}): Promise<PortalSession> {
    const now = this.clock.now();
    const stage = changes.stage ?? session.stage;
    const username = changes.username === undefined ? session.username : changes.username;
    const next: PortalSession = {
      id: newSessionSecret(),
      // A sign-in (another user, or none before) is a new session for the index; a rotation keeps its name.
      handle: username === session.username && session.handle ? session.handle : newHandle(),
      username,
      stage,
      csrf: newSessionSecret(),
      createdAt: session.stage === 'anonymous' && stage !== 'anonymous' ? now : session.createdAt,
      lastSeenAt: now,
      data: { ...(changes.data ?? session.data) },
    };
    const key = this.key(next.id);
    const transaction = this.redis.multi();
    if (isSessionIdShape(session.id)) transaction.del(this.key(session.id));
    if (session.username !== null && next.handle !== session.handle)
      transaction.hdel(this.userIndex(session.username), session.handle);
    transaction.hset(key, toFields(next)).pexpire(key, this.ttl(next, now));
    this.index(transaction, next, key);
    await transaction.exec().then(throwOnExecError);
    return next;
  }

  async destroy(id: string): Promise<void> {
    if (!isSessionIdShape(id)) return;
    const key = this.key(id);
    const [username, hasUser, handle] = await this.redis.hmget(key, 'username', 'hasUser', 'handle');
    const transaction = this.redis.multi().del(key);
    if (hasUser === '1' && typeof username === 'string' && handle) {
      transaction.hdel(this.userIndex(username), handle);
    }
    await transaction.exec().then(throwOnExecError);
  }

  /**
   * Ends every signed-in session of the user except the one named `exceptHandle` (the one that made a change);
   * returns how many ended. Their cookies stop working at once.
   */
  async endUserSessions(username: string, exceptHandle?: string): Promise<number> {
    const index = this.userIndex(username);
    const entries = Object.entries(await this.redis.hgetall(index)).filter(([h]) => h !== exceptHandle);
    if (entries.length === 0) return 0;
    const transaction = this.redis.multi();
    for (const [handle, key] of entries) transaction.del(key).hdel(index, handle);
    const results = await transaction.exec();
    throwOnExecError(results);
    // Replies alternate DEL, HDEL: the DELs say which sessions still existed.
    return (results ?? []).filter(([, reply], i) => i % 2 === 0 && reply === 1).length;
  }

  /** The Redis key of a session: a digest, so the key itself is not a usable session id. */
  key(id: string): string {
    return `${this.keys.tag}:portal:session:${createHash('sha256').update(id).digest('base64url')}`;
  }

  /** The index of a user's signed-in sessions: handle -> session key. */
  private userIndex(username: string): string {
    return `${this.keys.tag}:portal:user-sessions:${encodeURIComponent(usernameKey(username))}`;
  }

  /** Adds a signed-in session to its user's index, which lives as long as the newest session could. */
  private index(transaction: ReturnType<Redis['multi']>, session: PortalSession, key: string): void {
    if (session.username === null) return;
    const index = this.userIndex(session.username);
    transaction.hset(index, session.handle, key).pexpire(index, this.absoluteTimeoutMs);
  }

  private expired(session: PortalSession, now: number): boolean {
    return now - session.lastSeenAt > this.idleTimeoutMs || now - session.createdAt > this.absoluteTimeoutMs;
  }

  /** The idle limit, but never past the absolute end of the session. */
  private ttl(session: PortalSession, now: number): number {
    return Math.max(1, Math.min(this.idleTimeoutMs, session.createdAt + this.absoluteTimeoutMs - now));
  }
}

const newHandle = () => randomBytes(12).toString('base64url');

function toFields(session: PortalSession): Record<string, string> {
  return {
    handle: session.handle,
    username: session.username ?? '',
    hasUser: session.username === null ? '0' : '1',
    stage: session.stage,
    csrf: session.csrf,
    createdAt: String(session.createdAt),
    lastSeenAt: String(session.lastSeenAt),
    data: JSON.stringify(session.data),
  };
}

/** Parses a stored hash; `null` for anything incomplete or malformed (never trusted half-way). */
function fromFields(id: string, fields: Record<string, string>): PortalSession | null {
  const { handle, username, hasUser, stage, csrf, createdAt, lastSeenAt, data } = fields;
  if (username === undefined || (hasUser !== '0' && hasUser !== '1')) return null;
  if (!PORTAL_STAGES.includes(stage as PortalStage)) return null;
  if (!isSessionIdShape(csrf)) return null;
  const created = Number(createdAt);
  const seen = Number(lastSeenAt);
  if (!Number.isSafeInteger(created) || !Number.isSafeInteger(seen)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data ?? '');
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') return null;
    values[name] = value;
  }
  return {
    id,
    // Sessions stored before the index had no handle: they simply are not in it.
    handle: handle ?? '',
    username: hasUser === '1' ? username : null,
    stage: stage as PortalStage,
    csrf,
    createdAt: created,
    lastSeenAt: seen,
    data: values,
  };
}

function throwOnExecError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('portal sessions: transaction aborted');
  for (const [error] of results) if (error) throw error;
}
