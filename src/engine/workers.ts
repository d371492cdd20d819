import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Effect } from '../../flows/effects.js';
import { CarrierError } from '../carriers/cxml-rest.js';
import type { Logger } from '../log.js';
import type { EngineMetrics } from '../metrics/engine-metrics.js';
import type { FlowEngine } from './engine.js';
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

export interface EngineWorkers {
  effects: Worker<EffectJobData>;
  timers: Worker<TimerJobData>;
  isRunning(): boolean;
  close(): Promise<void>;
}

/**
 * Effect jobs run at least once (BullMQ retries a crashed worker's job); a done-marker per job id makes a
 * completed effect never run again. A crash after the carrier accepted a text but before the marker resends it:
 * the text carries the same code, so the user sees a duplicate, never a second code.
 */
export function startWorkers(deps: {
  connection: Redis;
  redis: Redis;
  keys: Keys;
  engine: FlowEngine;
  handlers: EffectHandlers;
  logger: Logger;
  concurrency?: number;
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
      if (await redis.exists(doneKey)) {
        deps.metrics?.effectJob(effect.type, 'skipped');
        return;
      }
      const handler = deps.handlers[effect.type as keyof EffectHandlers] as EffectHandler | undefined;
      try {
        if (!handler) throw new Error(`no handler for effect ${effect.type}`);
        await handler(effect, { flowId, jobId });
        await redis.set(doneKey, '1', 'EX', DONE_TTL_SECONDS);
      } catch (err) {
        deps.metrics?.effectJob(effect.type, 'failed');
        if (err instanceof CarrierError) deps.metrics?.carrierError(effect.type, err.status);
        throw err;
      }
      deps.metrics?.effectJob(effect.type, 'done');
    },
    { connection: deps.connection, prefix, concurrency: deps.concurrency ?? 50 },
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
    { connection: timersConnection, prefix, concurrency: deps.concurrency ?? 50 },
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
