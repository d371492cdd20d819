import { verificationSummary } from '../../flows/verification-summary.js';
import type { FlowRecord } from '../engine/flow-store.js';

/** What the API shows of a flow: the verdict and its timing, never the context's secrets. */
export function verificationView(flow: FlowRecord) {
  const summary = verificationSummary(flow.machine, flow.snapshot);
  const pending = flow.status === 'pending';
  return {
    id: flow.id,
    status: flow.status,
    method: flow.method,
    username: flow.userId,
    expiresAt: new Date(summary.codeExpiresAt ?? flow.expiresAt).toISOString(),
    createdAt: new Date(flow.createdAt).toISOString(),
    updatedAt: new Date(flow.updatedAt).toISOString(),
    ...(!pending && summary.reason ? { reason: summary.reason } : {}),
    ...(pending && summary.progress ? { progress: summary.progress } : {}),
    ...(pending && summary.attemptsLeft !== undefined ? { attemptsLeft: summary.attemptsLeft } : {}),
  };
}

export type VerificationView = ReturnType<typeof verificationView>;
