import type { FlowRecord } from '../engine/flow-store.js';

interface SmsContextView {
  reason?: string | null;
  attempts?: number;
  maxAttempts?: number;
  code?: { expiresAt?: number };
}

/** What the API shows of a flow: the verdict and its timing, never the context's secrets. */
export function verificationView(flow: FlowRecord) {
  const context = ((flow.snapshot as { context?: SmsContextView } | null)?.context ?? {}) as SmsContextView;
  const expiresAt = context.code?.expiresAt ?? flow.expiresAt;
  return {
    id: flow.id,
    status: flow.status,
    method: flow.method,
    username: flow.userId,
    expiresAt: new Date(expiresAt).toISOString(),
    createdAt: new Date(flow.createdAt).toISOString(),
    updatedAt: new Date(flow.updatedAt).toISOString(),
    ...(flow.status !== 'pending' && context.reason ? { reason: context.reason } : {}),
    ...(flow.status === 'pending' && flow.method === 'voice' ? { progress: callProgress(flow) } : {}),
    ...(flow.status === 'pending' && context.maxAttempts !== undefined
      ? { attemptsLeft: context.maxAttempts - (context.attempts ?? 0) }
      : {}),
  };
}

export type VerificationView = ReturnType<typeof verificationView>;

/** Where a pending call is: still ringing (primary or backup) or answered and prompting. */
function callProgress(flow: FlowRecord): 'calling' | 'answered' {
  const value = (flow.snapshot as { value?: unknown } | null)?.value;
  return typeof value === 'object' && value !== null ? 'answered' : 'calling';
}
