import type { Effect } from '../../flows/effects.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { FlowStore } from './flow-store.js';
import { type EngineQueues, effectJobId, timerJobId } from './queues.js';

/**
 * Moves a committed outbox into BullMQ, then acknowledges it. Safe to run twice for the same outbox: job ids are
 * deterministic and removing an absent timer is a no-op.
 */
export class OutboxRelay {
  constructor(
    private readonly store: FlowStore,
    private readonly queues: EngineQueues,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async relay(flowId: string, version: number, effects: readonly Effect[]): Promise<void> {
    const jobs = effects
      .map((effect, index) => ({ effect, index }))
      .filter(({ effect }) => !isTimerEffect(effect));
    if (jobs.length) {
      await this.queues.effects.addBulk(
        jobs.map(({ effect, index }) => ({
          name: effect.type,
          data: { flowId, version, effect },
          opts: { jobId: effectJobId(flowId, version, index) },
        })),
      );
    }
    for (const effect of effects) {
      if (effect.type === 'scheduleTimer') {
        await this.queues.timers.add(
          effect.timer,
          { flowId, timer: effect.timer, token: effect.token },
          {
            jobId: timerJobId(flowId, effect.timer, effect.token),
            delay: Math.max(0, effect.fireAt - this.clock.now()),
          },
        );
      } else if (effect.type === 'cancelTimer') {
        await this.cancelTimer(flowId, effect.timer, effect.token);
      }
    }
    await this.store.ackOutbox(flowId, version);
  }

  private async cancelTimer(flowId: string, timer: string, token: string): Promise<void> {
    try {
      await this.queues.timers.remove(timerJobId(flowId, timer, token));
    } catch (error) {
      // A running or locked timer cannot be removed; its stale token makes the machine ignore it.
      this.logger.debug({ flowId, timer, err: error }, 'timer not removed');
    }
  }
}

function isTimerEffect(effect: Effect): boolean {
  return effect.type === 'scheduleTimer' || effect.type === 'cancelTimer';
}
