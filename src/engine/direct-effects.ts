import type { Queue } from 'bullmq';
import type { Effect } from '../../flows/effects.js';
import type { EffectJobData } from './queues.js';

/**
 * Effects that have no flow to hold them (an administrator's edit, the answer to a STOP / HELP / START text, a
 * portal PIN change) go straight onto the effects queue, run by the same handlers with the same retries and
 * done-marker as a flow's outbox. The job id is derived from the cause (`origin`, e.g. the carrier's MessageSid),
 * so a retried webhook adds nothing, and a failed run is retried by BullMQ instead of being lost in the request.
 */
export class DirectEffects {
  constructor(private readonly effects: Pick<Queue<EffectJobData>, 'addBulk'>) {}

  async add(origin: string, effects: readonly Effect[]): Promise<void> {
    if (effects.length === 0) return;
    await this.effects.addBulk(
      effects.map((effect, index) => ({
        name: effect.type,
        data: { flowId: origin, version: 0, effect },
        opts: { jobId: `${origin}-${index}` },
      })),
    );
  }
}
