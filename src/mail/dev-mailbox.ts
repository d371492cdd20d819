import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Keys } from '../engine/keys.js';
import { assertSendable, type MailCheck, type Mailer } from './mailer.js';

/** One message as the dev mailbox keeps it. */
export interface DevMail {
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** ISO 8601 */
  createdAt: string;
}

export interface DevMailbox extends Mailer {
  /** The newest messages first, at most `limit` (default and maximum: what the mailbox keeps). */
  list(limit?: number): Promise<DevMail[]>;
  get(id: string): Promise<DevMail | null>;
}

export interface DevMailboxOptions {
  from: string;
  /** How many messages to keep (default 200); older ones are dropped. */
  keep?: number;
}

export const DEV_MAIL_TTL_SECONDS = 7 * 24 * 60 * 60;
const DEFAULT_KEEP = 200;
/** Ids are 16 base64url characters; anything else is refused before Redis is asked. */
export const DEV_MAIL_ID = /^[A-Za-z0-9_-]{16}$/;

export function devMailboxKey(keys: Keys): string {
  return `${keys.tag}:mail:dev`;
}

/**
 * A mailer for development when no SMTP server is configured: messages go to one Redis list (newest first,
 * capped at `keep`, expiring a week after the last message) and are read on `/dev/mail`.
 */
export function createDevMailbox(
  redis: Redis,
  keys: Keys,
  clock: Clock,
  opts: DevMailboxOptions,
): DevMailbox {
  const key = devMailboxKey(keys);
  const keep = Math.max(1, Math.floor(opts.keep ?? DEFAULT_KEEP));

  const all = async (limit: number): Promise<DevMail[]> => {
    const rows = await redis.lrange(key, 0, limit - 1);
    return rows.flatMap((row) => {
      try {
        return [JSON.parse(row) as DevMail];
      } catch {
        return [];
      }
    });
  };

  return {
    async send(message) {
      assertSendable(message);
      const mail: DevMail = {
        id: randomBytes(12).toString('base64url'),
        from: opts.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
        createdAt: new Date(clock.now()).toISOString(),
      };
      await redis
        .multi()
        .lpush(key, JSON.stringify(mail))
        .ltrim(key, 0, keep - 1)
        .expire(key, DEV_MAIL_TTL_SECONDS)
        .exec();
      return { id: mail.id };
    },

    async check(): Promise<MailCheck> {
      try {
        const pong = await redis.ping();
        return {
          ok: pong === 'PONG',
          detail: 'dev mailbox (no SMTP server configured): messages on /dev/mail',
        };
      } catch (error) {
        return { ok: false, detail: `dev mailbox: redis unreachable (${(error as Error).message})` };
      }
    },

    async close() {
      // The Redis connection belongs to the caller.
    },

    async list(limit = keep) {
      const count = Math.min(keep, Math.max(1, Math.floor(Number.isFinite(limit) ? limit : keep)));
      return all(count);
    },

    async get(id) {
      if (!DEV_MAIL_ID.test(id)) return null;
      return (await all(keep)).find((mail) => mail.id === id) ?? null;
    },
  };
}
