import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Keys } from '../engine/keys.js';

export interface AuditEntry {
  event: string;
  userId: string;
  flowId?: string;
  data?: Record<string, string | number | boolean>;
}

/** An append-only Redis stream of security events (fraud reports, setting changes), capped near 100,000. */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly clock: Clock,
    /** Sees every event type appended (the lockout and fraud metrics). */
    private readonly onAppend: (event: string) => void = () => {},
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    const line = JSON.stringify({ ...entry, at: this.clock.now() });
    await this.redis.xadd(this.keys.audit(), 'MAXLEN', '~', '100000', '*', 'entry', line);
    this.onAppend(entry.event);
  }

  async recent(count = 100): Promise<(AuditEntry & { at: number })[]> {
    const rows = await this.redis.xrevrange(this.keys.audit(), '+', '-', 'COUNT', count);
    return rows.map(([, fields]) => JSON.parse(fields[1] ?? '{}'));
  }
}
