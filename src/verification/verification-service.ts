import { randomBytes } from 'node:crypto';
import type { VerificationChild } from '../../flows/effects.js';
import { smsOtpFlow } from '../../flows/registry.js';
import type { SmsOtpContext, SmsOtpInput } from '../../flows/sms-otp/machine.js';
import { type ParsedReply, parseSmsReply, splitAnswer } from '../../flows/sms-otp/reply-parser.js';
import { smsView } from '../../flows/sms-otp/view.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { FlowEngine } from '../engine/engine.js';
import { newFlowId } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import type { SmsDirectory } from '../store/sms-directory.js';
import type { UserStore } from '../store/user-store.js';
import type { Method, User } from '../users/user.js';
import { judgeAnswer } from './answer-judge.js';
import { answeringUser } from './answering-user.js';
import type { PushVerifications } from './push-verifications.js';
import type { TotpVerifications } from './totp-verifications.js';
import { type VerificationView, verificationView } from './verification-view.js';
import type { FlowLink, VoiceCalls } from './voice-calls.js';

export interface VerificationDeps {
  config: Pick<Config, 'otp' | 'sendLimit' | 'fraudBlockDays' | 'serviceName'>;
  engine: FlowEngine;
  users: UserStore;
  sms: SmsDirectory;
  limiter: RateLimiter;
  secrets: CodeSecrets;
  hasher: SecretHasher;
  guard: SecretGuard;
  clock: Clock;
  voice: VoiceCalls;
  push: PushVerifications;
  totp: TotpVerifications;
}

const newToken = () => randomBytes(9).toString('base64url');

/** Starts, checks, resends and cancels verifications. Rules live in the machines; this gathers their facts. */
export class VerificationService {
  constructor(private readonly deps: VerificationDeps) {}

  async start(request: {
    username: string;
    method?: Method;
    purpose?: string;
    client?: { ip?: string; userAgent?: string };
  }): Promise<VerificationView & { code?: string; number?: string }> {
    const user = await this.deps.users.get(request.username);
    if (!user) throw new AppError('user_not_found');
    await this.deps.guard.assertMayTry(user.username);
    return this.startWith(user, request.method ?? user.method, {
      flowId: newFlowId(),
      purpose: request.purpose ?? 'api',
      ...(request.client ? { request: request.client } : {}),
    });
  }

  /**
   * A verification a parent flow asked for (`startChild`): under the child's id, telling the parent its verdict.
   * A proof of unsaved settings (the wizard's "Call Me Now" / "Text Me Now") calls or texts the new numbers and
   * checks the new PIN, which travels in the child's own input; nothing is saved here.
   */
  async startChild(child: VerificationChild, link: { childId: string; parentId: string }): Promise<void> {
    const stored = await this.deps.users.get(child.userId);
    if (!stored) throw new AppError('user_not_found');
    await this.deps.guard.assertMayTry(stored.username);
    const proofPinHash = child.prove?.pinHash ?? null;
    const user: User = child.prove
      ? {
          ...stored,
          phones: child.prove.phones,
          pinHash: proofPinHash ?? stored.pinHash,
          pinMustChange: false,
        }
      : stored;
    await this.startWith(user, child.method ?? user.method, {
      flowId: link.childId,
      purpose: child.purpose,
      parentId: link.parentId,
      ...(proofPinHash ? { proofPinHash } : {}),
    });
  }

  /**
   * The digits a voice verification in code mode asks for, shown on the screen that asked for it. A child's code
   * is derived from its id (like a text's code from its nonce), so a page can show it without storing it.
   */
  screenCode(flowId: string): string | null {
    return this.deps.voice.screenCode(flowId);
  }

  private async startWith(
    user: User,
    method: Method,
    link: FlowLink,
  ): Promise<VerificationView & { code?: string; number?: string }> {
    if (method === 'voice') return this.startVoice(user, link);
    if (method === 'push') {
      // The number is for the screen that started the verification; the device never gets it.
      const { flow, number } = await this.deps.push.start(user, link);
      return { ...verificationView(flow), number };
    }
    if (method === 'totp') return verificationView(await this.deps.totp.start(user, link));
    if (method !== 'sms') {
      throw new AppError('method_not_available', `The ${method} method is not available on this server yet`);
    }
    return this.startSms(user, link);
  }

  private async startVoice(user: User, link: FlowLink) {
    const to = user.phones.primary ?? user.phones.mobile;
    if (to) await this.assertSendAllowed(user.username, to);
    const { flow, code } = await this.deps.voice.start(user, link);
    return { ...verificationView(flow), ...(code ? { code } : {}) };
  }

  private async startSms(user: User, link: FlowLink): Promise<VerificationView> {
    const { clock } = this.deps;
    const method = 'sms';
    const to = user.phones.mobile ?? user.phones.primary;
    if (!to) throw new AppError('no_phone', 'The user has no phone number for text messages');
    if (await this.deps.sms.isOptedOut(to)) throw new AppError('phone_opted_out');
    await this.assertSendAllowed(user.username, to);

    const { otp } = this.deps.config;
    const { flowId } = link;
    const nonce = this.deps.secrets.newNonce();
    const at = clock.now();
    const input: Omit<SmsOtpInput, 'flowId'> = {
      userId: user.username,
      to,
      language: user.language,
      service: this.deps.config.serviceName,
      pinRequired: user.pinHash !== null,
      twoWay: otp.smsMode === 'two-way',
      codeLength: otp.length,
      ttlMs: otp.ttlSeconds * 1000,
      maxAttempts: otp.maxAttempts,
      maxSends: otp.maxSendsPerFlow,
      fraudBlockDays: this.deps.config.fraudBlockDays,
      at,
      nonce,
      codeDigest: this.codeDigest(flowId, nonce),
      timerToken: newToken(),
      ...(link.proofPinHash ? { proofPinHash: link.proofPinHash } : {}),
    };
    const flow = await this.deps.engine.start(smsOtpFlow.id, {
      flowId,
      ...(link.parentId ? { parentId: link.parentId } : {}),
      userId: user.username,
      purpose: link.purpose,
      method,
      expiresAt: at + otp.ttlSeconds * 1000,
      input,
      index: this.deps.sms.replyIndex(to),
    });
    return verificationView(flow);
  }

  async get(id: string): Promise<VerificationView> {
    return verificationView(await this.deps.engine.get(id));
  }

  /** A code typed on a screen: the code, followed by the PIN when the user has one. */
  async check(id: string, typed: string): Promise<VerificationView> {
    const pending = await this.deps.engine.get(id);
    if (this.deps.totp.isTotp(pending)) {
      if (pending.status !== 'pending')
        throw new AppError('verification_closed', `The verification is already ${pending.status}`);
      return verificationView(await this.deps.totp.check(pending, typed));
    }
    const flow = await this.pendingSmsFlow(id);
    const context = smsContext(flow);
    const parsed = parseSmsReply(typed);
    if (parsed.kind !== 'answer') throw new AppError('invalid_code', 'code: digits only');
    const pinHash = await this.pinHashFor(flow, context);
    const facts = await judgeAnswer(
      this.deps.secrets,
      this.deps.hasher,
      id,
      splitAnswer(parsed.digits, context.codeLength),
      pinHash,
      this.pinRefresh(flow, pinHash),
    );
    const result = await this.deps.engine.dispatch(id, {
      type: 'CHECK',
      at: this.deps.clock.now(),
      ...facts,
    });
    return verificationView(result.flow);
  }

  async resend(id: string): Promise<VerificationView> {
    const flow = await this.pendingSmsFlow(id);
    const context = smsContext(flow);
    if (context.sends >= context.maxSends) throw new AppError('resend_limit');
    await this.assertSendAllowed(flow.userId, context.to);
    const nonce = this.deps.secrets.newNonce();
    const result = await this.deps.engine.dispatch(id, {
      type: 'RESEND',
      at: this.deps.clock.now(),
      nonce,
      codeDigest: this.codeDigest(id, nonce),
      timerToken: newToken(),
    });
    return verificationView(result.flow);
  }

  async cancel(id: string): Promise<VerificationView> {
    const result = await this.deps.engine.dispatch(id, { type: 'CANCEL', at: this.deps.clock.now() });
    return verificationView(result.flow);
  }

  /**
   * Facts of a text reply (parsed once, by the inbound handler) for the machine: the typed digits never travel
   * further than this. The flow's own code length splits code from PIN.
   */
  async replyFacts(flow: FlowRecord, parsed: ParsedReply) {
    const context = smsContext(flow);
    if (parsed.kind === 'answer') {
      const pinHash = await this.pinHashFor(flow, context);
      const facts = await judgeAnswer(
        this.deps.secrets,
        this.deps.hasher,
        flow.id,
        splitAnswer(parsed.digits, context.codeLength),
        pinHash,
        this.pinRefresh(flow, pinHash),
      );
      return { kind: 'answer' as const, ...facts };
    }
    return { kind: parsed.kind === 'fraud' ? ('fraud' as const) : ('unreadable' as const) };
  }

  private codeDigest(flowId: string, nonce: string): string {
    const { secrets, config } = this.deps;
    return secrets.digest(flowId, secrets.codeFor(flowId, nonce, config.otp.length));
  }

  private async pinHashFor(flow: FlowRecord, context: SmsOtpContext): Promise<string | null> {
    if (!context.pinRequired) return null;
    const user = await answeringUser(flow, this.deps.users);
    // A user deleted mid-flow can no longer prove a PIN: an impossible hash makes every answer wrong.
    return user?.pinHash ?? 'none';
  }

  /** A right PIN under an old hash format is rehashed, if the user's stored hash is still that one. */
  private pinRefresh(flow: FlowRecord, pinHash: string | null) {
    return pinHash
      ? (fresh: string) => this.deps.users.replacePinHash(flow.userId, pinHash, fresh)
      : undefined;
  }

  private async pendingSmsFlow(id: string): Promise<FlowRecord> {
    const flow = await this.deps.engine.get(id);
    if (flow.machine !== smsOtpFlow.id) throw new AppError('wrong_method');
    if (flow.status !== 'pending')
      throw new AppError('verification_closed', `The verification is already ${flow.status}`);
    return flow;
  }

  private async assertSendAllowed(username: string, to: string): Promise<void> {
    const { count, windowSeconds } = this.deps.config.sendLimit;
    const byUser = await this.deps.limiter.hit(`send:user:${username}`, count, windowSeconds);
    const byPhone = await this.deps.limiter.hit(`send:to:${to}`, count, windowSeconds);
    if (!byUser || !byPhone) throw new AppError('rate_limited', 'Too many codes sent; wait a few minutes');
  }
}

export function smsContext(flow: FlowRecord): SmsOtpContext {
  return smsView(flow.snapshot).context;
}
