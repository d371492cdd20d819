import type { Redis } from 'ioredis';
import type { Effect, VerificationStatus } from '../../flows/effects.js';
import { RedisUnavailableError } from '../redis/redis-availability.js';
import { COMMIT_SCRIPT } from './commit-script.js';
import type { Keys } from './keys.js';

export interface FlowRecord {
  id: string;
  machine: string;
  machineVersion: number;
  version: number;
  snapshot: unknown;
  status: VerificationStatus;
  userId: string;
  purpose: string;
  method: string;
  input: unknown;
  /** The flow that started this one as its child (it is told the verdict), or null. */
  parentId: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}

/** One line of a flow's event log: what happened and what the machine became. Replay reads these. */
export interface LogEntry {
  version: number;
  at: number;
  event: { type: string } & Record<string, unknown>;
  state: { value: unknown; status: VerificationStatus; context: unknown };
  effects: string[];
}

/**
 * A sorted set the flow joins in its first commit (newest last), keeping the newest `keep` members for
 * `ttlSeconds` after the latest addition: e.g. the SMS flows that texted a number, to route its replies.
 */
export interface FlowIndexEntry {
  key: string;
  keep: number;
  ttlSeconds: number;
}

export interface CommitRequest {
  flowId: string;
  expectedVersion: number;
  snapshot: unknown;
  status: VerificationStatus;
  entry: Omit<LogEntry, 'version'>;
  effects: Effect[];
  now: number;
  idempotency?: { key: string; value: string };
  index?: FlowIndexEntry;
  /** What the new state waits for from a fenced effect (`FlowDefinition.fence`); absent: nothing. */
  fence?: string | null;
  create?: Omit<FlowRecord, 'id' | 'version' | 'snapshot' | 'status' | 'updatedAt' | 'parentId'> & {
    parentId?: string;
  };
}

export type CommitResult =
  | { kind: 'ok'; version: number }
  | { kind: 'conflict'; currentVersion: number }
  | { kind: 'duplicate'; value: string };

const FLOW_TTL_SECONDS = 7 * 24 * 3600; // kept a week for replay and audit
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600; // carriers retry for hours, not days

type CommitCommand = (...args: (string | number)[]) => Promise<[string, string]>;

export class FlowStore {
  private readonly commitCommand: CommitCommand;

  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
    /** REDIS_REQUIRE_REPLICA: a commit counts only once a replica holds it (WAIT 1 for this long). */
    private readonly replica: { timeoutMs: number } | null = null,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once after a Redis restart flushed the script cache.
    if (!('mfaCommit' in redis)) redis.defineCommand('mfaCommit', { numberOfKeys: 6, lua: COMMIT_SCRIPT });
    const command = (redis as unknown as { mfaCommit: CommitCommand }).mfaCommit;
    this.commitCommand = command.bind(redis);
  }

  async load(flowId: string): Promise<FlowRecord | null> {
    const raw = await this.redis.hgetall(this.keys.flow(flowId));
    if (!raw.version) return null;
    return {
      id: flowId,
      machine: raw.machine ?? '',
      machineVersion: Number(raw.machineVersion),
      version: Number(raw.version),
      snapshot: JSON.parse(raw.snapshot ?? 'null'),
      status: raw.status as VerificationStatus,
      userId: raw.userId ?? '',
      purpose: raw.purpose ?? '',
      method: raw.method ?? '',
      input: JSON.parse(raw.input ?? 'null'),
      parentId: raw.parentId || null,
      createdAt: Number(raw.createdAt),
      updatedAt: Number(raw.updatedAt),
      expiresAt: Number(raw.expiresAt),
    };
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    const { flowId } = request;
    const version = request.expectedVersion + 1;
    const entry: LogEntry = { version, ...request.entry };
    const create = request.create
      ? JSON.stringify({ ...request.create, input: JSON.stringify(request.create.input) })
      : '';
    const [kind, value] = await this.commitCommand(
      this.keys.flow(flowId),
      this.keys.log(flowId),
      this.keys.outbox(flowId),
      this.keys.pendingOutboxes(),
      request.idempotency ? this.keys.idempotency(request.idempotency.key) : '',
      request.index?.key ?? '',
      request.expectedVersion,
      JSON.stringify(request.snapshot),
      request.status,
      JSON.stringify(entry),
      request.effects.length ? JSON.stringify(request.effects) : '',
      request.now,
      request.idempotency?.value ?? '',
      IDEMPOTENCY_TTL_SECONDS,
      FLOW_TTL_SECONDS,
      this.keys.statusChannel(),
      flowId,
      create,
      request.index?.keep ?? 0,
      request.index?.ttlSeconds ?? 0,
      request.fence ?? '',
    );
    if (kind === 'ok') {
      await this.awaitReplica();
      return { kind, version: Number(value) };
    }
    if (kind === 'conflict') return { kind, currentVersion: Number(value) };
    return { kind: 'duplicate', value };
  }

  /**
   * Under Sentinel a failover promotes a replica, which lacks whatever the master had not yet sent it. Waiting
   * for one replica's acknowledgement makes a commit survive that: a caller is told "committed" only then, and
   * a commit no replica acknowledged in time answers 503 (it stands on the master; its outbox is swept).
   */
  private async awaitReplica(): Promise<void> {
    if (!this.replica) return;
    const acknowledged = Number(await this.redis.call('WAIT', '1', String(this.replica.timeoutMs)));
    if (acknowledged < 1) throw new RedisUnavailableError();
  }

  async seenIdempotency(key: string): Promise<string | null> {
    return this.redis.get(this.keys.idempotency(key));
  }

  async readLog(flowId: string): Promise<LogEntry[]> {
    const rows = await this.redis.xrange(this.keys.log(flowId), '-', '+');
    return rows.map(([, fields]) => JSON.parse(fields[fields.indexOf('entry') + 1] ?? 'null') as LogEntry);
  }

  async readOutbox(flowId: string, version: number): Promise<Effect[] | null> {
    const raw = await this.redis.hget(this.keys.outbox(flowId), String(version));
    return raw ? (JSON.parse(raw) as Effect[]) : null;
  }

  async ackOutbox(flowId: string, version: number): Promise<void> {
    await this.redis
      .multi()
      .hdel(this.keys.outbox(flowId), String(version))
      .zrem(this.keys.pendingOutboxes(), `${flowId}|${version}`)
      .exec();
  }

  /** How many committed outboxes are not acknowledged yet (a metric: it grows when enqueueing fails). */
  pendingOutboxCount(): Promise<number> {
    return this.redis.zcard(this.keys.pendingOutboxes());
  }

  /** Outboxes committed before `olderThan` and never acknowledged: a crash came between commit and enqueue. */
  async strandedOutboxes(olderThan: number, limit = 100): Promise<{ flowId: string; version: number }[]> {
    const members = await this.redis.zrangebyscore(
      this.keys.pendingOutboxes(),
      '-inf',
      olderThan,
      'LIMIT',
      0,
      limit,
    );
    return members.map((member) => {
      const [flowId = '', version = '0'] = member.split('|');
      return { flowId, version: Number(version) };
    });
  }
}
