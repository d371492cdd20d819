import type { VerificationStatus } from './effects.js';

/**
 * Child flows: a parent flow (a wizard, a sign-in) starts a verification with a `startChild` effect and is told its
 * verdict by a `CHILD_DONE` event, which the child's `notifyParent` effect dispatches. Both travel through the
 * outbox, so a crash between the child's verdict and the parent's update only delays the update.
 */

/** What a child knows of its parent: in its input and its context. */
export interface ParentLink {
  flowId: string;
}

/** The event a parent receives when its child reached a verdict (or could not be started). */
export type ChildDoneEvent = {
  type: 'CHILD_DONE';
  childId: string;
  status: VerificationStatus;
  reason?: string;
  at: number;
};

/** The id of a parent's `seq`-th child: deterministic (a retried start finds it), and as unguessable as the parent's. */
export const childFlowId = (parentId: string, seq: number) => `${parentId}-c${seq}`;

interface ChildContext {
  flowId: string;
  parent?: ParentLink | null;
  reason?: string | null;
}

/**
 * The body of every verification machine's `toParent(status)` entry action (an `enqueueActions` of its own
 * `setup`, put on each state that ends its waiting: the final states, and the SMS flow's `expired`): enqueues the
 * `notifyParent` effect when the flow has a parent, nothing otherwise.
 */
export function tellParent(
  context: ChildContext,
  status: VerificationStatus,
  enqueue: (action: {
    type: 'notifyParent';
    params: { parentId: string; childId: string; status: VerificationStatus; reason?: string };
  }) => void,
): void {
  if (!context.parent) return;
  enqueue({
    type: 'notifyParent',
    params: {
      parentId: context.parent.flowId,
      childId: context.flowId,
      status,
      ...(context.reason ? { reason: context.reason } : {}),
    },
  });
}
