import type { Clock } from '../clock.js';
import type { FlowEngine } from '../engine/engine.js';

/**
 * A carrier's delivery status for a text as a flow event. The idempotency key is the message and the status, so a
 * status told twice (a carrier retry, or a callback parked before the REST answer and replayed after it) counts once.
 */
export function dispatchDeliveryStatus(
  deps: { engine: FlowEngine; clock: Clock },
  flowId: string,
  messageSid: string,
  status: string,
) {
  return deps.engine.dispatch(
    flowId,
    { type: 'DELIVERY', at: deps.clock.now(), status },
    { idempotencyKey: `sms-status:${messageSid}:${status}` },
  );
}
