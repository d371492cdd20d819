import type { ChildDoneEvent } from '../../flows/child-flow.js';
import type {
  CancelChildEffect,
  NotifyParentEffect,
  StartChildEffect,
  VerificationChild,
} from '../../flows/effects.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FlowEngine } from './engine.js';

/** Starts one kind of child flow under the id and parent it is given (a verification service, later push). */
export type ChildStarter = (
  child: VerificationChild,
  link: { childId: string; parentId: string },
) => Promise<void>;

/**
 * What the three child-flow effects do. Each is safe to run again (BullMQ runs a job at least once):
 *
 * - `startChild` starts the child under its deterministic id, so a second run finds it; a child its parent no
 *   longer waits for is not started; a start the service refuses (rate limit, opted-out number, locked user)
 *   becomes the child's verdict, `failed` with the refusal's code as the reason;
 * - `notifyParent` dispatches `CHILD_DONE` with an idempotency key per child, so the parent hears it once;
 * - `cancelChild` cancels a child that is still waiting (nothing happens to one that already ended).
 */
export class ChildFlows {
  constructor(
    private readonly deps: {
      engine: () => FlowEngine;
      start: ChildStarter;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async start(effect: StartChildEffect): Promise<void> {
    const { childId, parentId } = effect;
    const engine = this.deps.engine();
    if (await engine.store.load(childId)) return; // started by an earlier run of this job
    if (!(await engine.awaitsChild(parentId, childId))) {
      this.deps.logger.info({ flowId: parentId, childId }, 'child not started: the parent moved on');
      return;
    }
    try {
      await this.deps.start(effect.child, { childId, parentId });
      this.deps.logger.info({ flowId: parentId, childId }, 'child flow started');
    } catch (error) {
      if (!(error instanceof AppError) || error.statusCode >= 500) throw error;
      if (error.code === 'flow_exists') return;
      this.deps.logger.info({ flowId: parentId, childId, code: error.code }, 'child flow refused');
      await this.tell(parentId, childId, 'failed', error.code);
    }
  }

  async notifyParent(effect: NotifyParentEffect): Promise<void> {
    await this.tell(effect.parentId, effect.childId, effect.status, effect.reason);
  }

  async cancel(effect: CancelChildEffect): Promise<void> {
    await ignoreGone(
      this.deps.engine().dispatch(effect.childId, { type: 'CANCEL', at: this.deps.clock.now() }),
    );
  }

  private async tell(
    parentId: string,
    childId: string,
    status: ChildDoneEvent['status'],
    reason: string | undefined,
  ): Promise<void> {
    const event: ChildDoneEvent = {
      type: 'CHILD_DONE',
      childId,
      status,
      ...(reason ? { reason } : {}),
      at: this.deps.clock.now(),
    };
    const result = await ignoreGone(
      this.deps.engine().dispatch(parentId, event, { idempotencyKey: `child-done:${childId}` }),
    );
    this.deps.logger.info(
      { flowId: parentId, childId, status, heard: result?.changed ?? false },
      'child verdict told to its parent',
    );
  }
}

/** A flow that aged out (or never existed) has nobody left to tell. */
async function ignoreGone<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (error) {
    if ((error as { code?: string }).code === 'flow_not_found') return null;
    throw error;
  }
}
