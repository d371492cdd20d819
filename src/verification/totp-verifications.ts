import { randomBytes } from 'node:crypto';
import { totpCheckFlow } from '../../flows/registry.js';
import type { TotpCheckInput } from '../../flows/totp-check/machine.js';
import type { Clock } from '../clock.js';
import type { FlowEngine } from '../engine/engine.js';
import { newFlowId } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import type { TotpService } from '../totp/totp-service.js';
import type { User } from '../users/user.js';

/** A TOTP verification waits this long for a code typed on the screen. */
export const TOTP_VERIFICATION_TTL_MS = 5 * 60_000;

/** TOTP verifications: a flow that takes codes typed on a screen; otplib, drift and replay are judged here. */
export class TotpVerifications {
  constructor(
    private readonly deps: { engine: FlowEngine; totp: TotpService; clock: Clock; maxAttempts: number },
  ) {}

  isTotp(flow: FlowRecord): boolean {
    return flow.machine === totpCheckFlow.id;
  }

  async start(
    user: User,
    options: { purpose: string; flowId?: string; parentId?: string },
  ): Promise<FlowRecord> {
    if (!(await this.deps.totp.isActive(user.username))) throw new AppError('no_totp');
    const at = this.deps.clock.now();
    const input: Omit<TotpCheckInput, 'flowId'> = {
      userId: user.username,
      parent: options.parentId ? { flowId: options.parentId } : null,
      ttlMs: TOTP_VERIFICATION_TTL_MS,
      maxAttempts: this.deps.maxAttempts,
      at,
      timerToken: randomBytes(9).toString('base64url'),
    };
    return this.deps.engine.start(totpCheckFlow.id, {
      flowId: options.flowId ?? newFlowId(),
      userId: user.username,
      purpose: options.purpose,
      method: 'totp',
      expiresAt: at + TOTP_VERIFICATION_TTL_MS,
      input,
    });
  }

  /** A typed code: a wrong one counts once in the flow (its failure is the flow's), never in the guard too. */
  async check(flow: FlowRecord, typed: string): Promise<FlowRecord> {
    const code = typed.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) throw new AppError('invalid_code', 'code: six digits');
    const judged = await this.deps.totp.judge(flow.userId, code);
    const result = await this.deps.engine.dispatch(
      flow.id,
      { type: 'CHECK', at: this.deps.clock.now(), ok: judged.ok },
      { loaded: flow },
    );
    return result.flow;
  }
}
