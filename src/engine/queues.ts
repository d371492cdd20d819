import { type DefaultJobOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Effect } from '../../flows/effects.js';

export const EFFECTS_QUEUE = 'effects';
export const TIMERS_QUEUE = 'timers';

export interface EffectJobData {
  flowId: string;
  version: number;
  effect: Effect;
}

export interface TimerJobData {
  flowId: string;
  timer: string;
  token: string;
}

// Deterministic ids make a second enqueue of the same outbox a no-op while the first job is kept.
export const effectJobId = (flowId: string, version: number, index: number) =>
  `${flowId}-${version}-${index}`;
export const timerJobId = (flowId: string, timer: string, token: string) =>
  `${flowId}-timer-${timer}-${token}`;

/** Completed jobs are kept an hour: far longer than a sweep takes to re-enqueue a stranded outbox. */
const KEEP_COMPLETED = { age: 3600, count: 100_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600 };
/** Both queues retry a job five times, backing off exponentially from a second. */
const defaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
} satisfies DefaultJobOptions;

export interface EngineQueues {
  effects: Queue<EffectJobData>;
  timers: Queue<TimerJobData>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string): EngineQueues {
  const effects = new Queue<EffectJobData>(EFFECTS_QUEUE, { connection, prefix, defaultJobOptions });
  const timers = new Queue<TimerJobData>(TIMERS_QUEUE, { connection, prefix, defaultJobOptions });
  return {
    effects,
    timers,
    async close() {
      await Promise.all([effects.close(), timers.close()]);
    },
  };
}
