import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import { Runtime, type RuntimeOptions } from '../../src/runtime.js';

export const TEST_API_KEY = 'test-api-key-0123456789';
export const TEST_SIGNING_KEY = 'test-signing-key-0123456789';

export interface TestRuntime {
  runtime: Runtime;
  clock: ManualClock;
  baseUrl: string;
  /** fetch against the server with the bearer key. */
  api(
    pathname: string,
    init?: { method?: string; body?: unknown; key?: string },
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies field by field and assert on them
  ): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * A real server on a free loopback port against the given Redis, with the simulator carrier and a manual
 * clock that starts at the real time (so BullMQ delays stay sane) and only moves when a test says so.
 */
export async function startTestRuntime(
  redisUrl: string,
  env: Record<string, string> = {},
  options: RuntimeOptions & { listen?: boolean } = {},
): Promise<TestRuntime> {
  const port = await findFreePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mfa-data-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    REDIS_URL: redisUrl,
    API_KEY: TEST_API_KEY,
    SIGNING_KEY: TEST_SIGNING_KEY,
    SECRET_KEY: 'test-secret-key-0123456789',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEND_LIMIT: '20',
    // The fixtures use 4-digit PINs; the default of 6 is tested in config-secrets and pin-storage tests.
    PIN_MIN_LENGTH: '4',
    ...env,
  });
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock(Date.now());
  const runtime = new Runtime(config, createLogger(config.logLevel), { ...options, clock });
  if (options.listen === false) await runtime.app();
  else await runtime.start();
  const baseUrl = config.publicUrl;
  return {
    runtime,
    clock,
    baseUrl,
    async api(pathname, init = {}) {
      const response = await fetch(`${baseUrl}${pathname}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${init.key ?? TEST_API_KEY}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? safeJson(text) : null };
    },
    async stop() {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Waits for the fact that every effect has run: no committed outbox waits for the relay, and no effect job (nor a
 * timer that fired) is waiting, running or backing off. Count what happened after this, never after a sleep: a
 * duplicate that comes late is then still counted. Read twice in a row, so a job handing over to the next is seen.
 */
export async function effectsSettled(t: TestRuntime, timeoutMs = 20_000): Promise<true> {
  const busy = async () => {
    const outboxes = await t.runtime.store.strandedOutboxes(Number.MAX_SAFE_INTEGER, 1);
    const effects = await t.runtime.effectsQueue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    );
    const timers = await t.runtime.timersQueue.getJobCounts('waiting', 'active', 'prioritized');
    return outboxes.length + [...Object.values(effects), ...Object.values(timers)].reduce((a, b) => a + b, 0);
  };
  return eventually(
    async () => ((await busy()) === 0 && (await busy()) === 0 ? (true as const) : undefined),
    timeoutMs,
    'every effect to have run',
  );
}
