import { randomBytes } from 'node:crypto';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Effect } from '../../flows/effects.js';
import { CarrierError } from '../carriers/cxml-rest.js';
import type { Logger } from '../log.js';
import type { EngineMetrics } from '../metrics/engine-metrics.js';
import type { FlowEngine } from './engine.js';
import { effectGate } from './fence-script.js';
import type { Keys } from './keys.js';
import { EFFECTS_QUEUE, type EffectJobData, TIMERS_QUEUE, type TimerJobData } from './queues.js';

export type EffectHandler<E extends Effect = Effect> = (
  effect: E,
  job: { flowId: string; jobId: string },
) => Promise<void>;
export type EffectHandlers = {
  [K in Exclude<Effect['type'], 'scheduleTimer' | 'cancelTimer'>]: EffectHandler<
    Extract<Effect, { type: K }>
  >;
};

const DONE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * A job whose worker died (kill -9) holds its lock until `lockDuration` passes; a stalled check (every
 * `stalledInterval`, in any live worker) then puts it back in the queue. BullMQ's 30 s + 30 s let a stranded text
 * wait about a minute after a restart; these bound it to lockDuration + 2 x stalledInterval (about 8 s after the
 * crash). The lock is renewed every lockDuration / 2, so an event loop blocked for 3 s would let a live job be
 * re-run: the fence and the done-marker keep that harmless. A job stalled more often than `maxStalledCount`
 * fails for good, so allow a few crashes in a row.
 */
const STALLED_JOBS = { lockDuration: 6_000, stalledInterval: 1_000, maxStalledCount: 5 } as const;

export interface EngineWorkers {
  effects: Worker<EffectJobData>;
  timers: Worker<TimerJobData>;
  isRunning(): boolean;
  close(): Promise<void>;
}

/**
 * Effect jobs run at least once (BullMQ retries a crashed worker's job); a done-marker per job id makes a
 * completed effect never run again, and a fenced effect (a code text, a call) runs only while the flow still waits
 * for it (`effectGate`). A crash after the carrier accepted a text but before the marker resends it only while the
 * flow still waits for that code, with the same code: a duplicate, never a second code, never after the verdict.
 */
/** How long a run's claim on a job keeps another run of it off (longer than a carrier request may take). */
const CLAIM_MS = 12_000;

/**
 * REDIS_REQUIRE_REPLICA: a failover can bring back a job whose run had already started on the lost master (its
 * move to active was never replicated) while that run still finishes its send. A claim written and replicated
 * before the handler runs keeps the second run off until the first has written its done-marker (the retry then
 * skips) or has died (the claim expires and the retry runs).
 */
async function claimRun(redis: Redis, key: string, replicaWaitMs: number): Promise<void> {
  const claimed = await redis.set(key, randomBytes(8).toString('hex'), 'PX', CLAIM_MS, 'NX');
  if (!claimed) throw new Error('another run of this effect is in flight; retried later');
  await redis.call('WAIT', '1', String(replicaWaitMs));
}

export function startWorkers(deps: {
  connection: Redis;
  redis: Redis;
  keys: Keys;
  engine: FlowEngine;
  handlers: EffectHandlers;
  logger: Logger;
  concurrency?: number;
  /** REDIS_REQUIRE_REPLICA: a done-marker waits for a replica too, so a failover cannot run the effect again. */
  replicaWaitMs?: number;
  metrics?: Pick<EngineMetrics, 'effectJob' | 'carrierError'>;
}): EngineWorkers {
  const { keys, redis, logger } = deps;
  const prefix = keys.queuePrefix();
  const effects = new Worker<EffectJobData>(
    EFFECTS_QUEUE,
    async (job: Job<EffectJobData>) => {
      const jobId = job.id ?? '';
      const doneKey = keys.effectDone(jobId);
      const { effect, flowId } = job.data;
      const gate = await effectGate(redis, keys, { flowId, jobId, effect });
      if (gate !== 'run') {
        // 'stale': the flow no longer waits for this effect (approved, expired, a newer code, a call answered).
        if (gate === 'stale') {
          await redis.set(doneKey, 'stale', 'EX', DONE_TTL_SECONDS);
          logger.info(
            { flowId, jobId, effect: effect.type },
            'effect skipped: the flow no longer waits for it',
          );
        }
        deps.metrics?.effectJob(effect.type, 'skipped');
        return;
      }
      const handler = deps.handlers[effect.type as keyof EffectHandlers] as EffectHandler | undefined;
      if (deps.replicaWaitMs) await claimRun(redis, keys.effectClaim(jobId), deps.replicaWaitMs);
      try {
        if (!handler) throw new Error(`no handler for effect ${effect.type}`);
        await handler(effect, { flowId, jobId });
        await redis.set(doneKey, '1', 'EX', DONE_TTL_SECONDS);
        if (deps.replicaWaitMs) await redis.call('WAIT', '1', String(deps.replicaWaitMs));
      } catch (err) {
        deps.metrics?.effectJob(effect.type, 'failed');
        if (deps.replicaWaitMs) await redis.del(keys.effectClaim(jobId)).catch(() => 0);
        if (err instanceof CarrierError) deps.metrics?.carrierError(effect.type, err.status);
        throw err;
      }
      deps.metrics?.effectJob(effect.type, 'done');
    },
    { connection: deps.connection, prefix, concurrency: deps.concurrency ?? 50, ...STALLED_JOBS },
  );
  const timersConnection = deps.connection.duplicate();
  const timers = new Worker<TimerJobData>(
    TIMERS_QUEUE,
    async (job: Job<TimerJobData>) => {
      const { flowId, timer, token } = job.data;
      try {
        await deps.engine.dispatch(flowId, { type: 'TIMEOUT', timer, token });
      } catch (err) {
        if ((err as { code?: string }).code === 'flow_not_found') return; // the flow aged out: nothing to time
        throw err;
      }
    },
    { connection: timersConnection, prefix, concurrency: deps.concurrency ?? 50, ...STALLED_JOBS },
  );
  for (const worker of [effects, timers]) {
    worker.on('failed', (job, err) =>
      logger.error({ queue: worker.name, jobId: job?.id, err }, 'job failed'),
    );
    worker.on('error', (err) => logger.error({ queue: worker.name, err }, 'worker error'));
  }
  return {
    effects,
    timers,
    isRunning: () => effects.isRunning() && timers.isRunning(),
    async close() {
      await Promise.all([effects.close(), timers.close()]);
      timersConnection.disconnect();
    },
  };
}
