import { randomBytes } from 'node:crypto';
import { base32 } from '@scure/base';
import type { Redis } from 'ioredis';
import {
  isPushOpen,
  mayAnswer,
  type PushSnapshotView,
  pushView,
} from '../../flows/push-approval/accessors.js';
import type { PushApprovalInput, PushDecision, PushRequestInfo } from '../../flows/push-approval/machine.js';
import { pushApprovalFlow } from '../../flows/registry.js';
import type { Clock } from '../clock.js';
import type { Device } from '../devices/device.js';
import type { DeviceKeys } from '../devices/device-keys.js';
import { type DeviceStore, userKeyOf } from '../devices/device-store.js';
import type { FlowEngine } from '../engine/engine.js';
import { newFlowId } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';

export interface PushSettings {
  ttlSeconds: number;
  numberDigits: number;
  /** Pushes per user per window (push fatigue). */
  limit: { count: number; windowSeconds: number };
  fraudBlockDays: number;
  serviceName: string;
  /** Whether privacyIDEA Authenticator tokens are asked (PIPUSH_ENABLED); false: only the product's own app. */
  pipushEnabled: boolean;
}

/** What a device sees of a challenge: what is signing in, from where, when; never the number. */
export interface ChallengeView {
  id: string;
  nonce: string;
  service: string;
  purpose: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
  expiresAt: string;
  pinRequired: boolean;
  numberDigits: number;
}

export interface DeviceAnswer {
  challengeId: string;
  nonce: string;
  decision: PushDecision;
  number?: string | undefined;
  pin?: string | undefined;
}

const newToken = () => randomBytes(9).toString('base64url');
/** base32 of 20 random bytes: the form the privacyIDEA push protocol gives a challenge nonce; fine for any app. */
const newChallengeNonce = () => base32.encode(randomBytes(20));
const OPEN_INDEX_SLACK_MS = 5_000;

/**
 * Push approvals: starts them (number, limits, one open push per user), shows them to the user's devices and
 * turns a device's answer into facts for the machine (number digest, PIN check). Rules stay in the machine.
 */
export class PushVerifications {
  constructor(
    private readonly deps: {
      settings: PushSettings;
      engine: FlowEngine;
      users: UserStore;
      devices: DeviceStore;
      secrets: CodeSecrets;
      hasher: Pick<SecretHasher, 'verify'>;
      limiter: RateLimiter;
      redis: Redis;
      keys: DeviceKeys;
      clock: Clock;
    },
  ) {}

  /** The caller checked the user's standing. Returns the flow and the number to show on the starting screen. */
  async start(
    user: User,
    options: {
      purpose: string;
      /** A child flow's id chosen by its parent; a new one otherwise. */
      flowId?: string;
      parentId?: string;
      request?: Partial<PushRequestInfo>;
    },
  ): Promise<{ flow: FlowRecord; number: string }> {
    const { settings, clock } = this.deps;
    // The policy may require the product's own app: privacyIDEA tokens are then not asked at all.
    const devices = (await this.deps.devices.list(user.username)).filter(
      (d) => d.kind !== 'pipush' || settings.pipushEnabled,
    );
    if (devices.length === 0) throw new AppError('no_device');
    const allowed = await this.deps.limiter.hit(
      `push:user:${userKeyOf(user.username)}`,
      settings.limit.count,
      settings.limit.windowSeconds,
    );
    if (!allowed) throw new AppError('rate_limited', 'Too many push requests; wait a few minutes');
    await this.supersedeOpenPush(user.username);

    const flowId = options.flowId ?? newFlowId();
    const at = clock.now();
    const nonce = this.deps.secrets.newNonce();
    const number = this.deps.secrets.codeFor(flowId, nonce, settings.numberDigits);
    const ttlMs = settings.ttlSeconds * 1000;
    const input: Omit<PushApprovalInput, 'flowId'> = {
      userId: user.username,
      parent: options.parentId ? { flowId: options.parentId } : null,
      deviceIds: devices.map((d) => d.id),
      devicesWithoutPin: devices.filter((d) => d.kind === 'pipush').map((d) => d.id),
      number: { nonce, digits: settings.numberDigits, digest: this.deps.secrets.digest(flowId, number) },
      challengeNonce: newChallengeNonce(),
      pinRequired: user.pinHash !== null,
      request: {
        service: settings.serviceName,
        purpose: options.purpose,
        ip: options.request?.ip ?? null,
        userAgent: options.request?.userAgent?.slice(0, 200) ?? null,
      },
      ttlMs,
      fraudBlockDays: settings.fraudBlockDays,
      at,
      timerToken: newToken(),
    };
    // Indexed before the start commits: the wake-up the start sends must find the push.
    await this.deps.redis.set(this.openKey(user.username), flowId, 'PX', ttlMs + OPEN_INDEX_SLACK_MS);
    const flow = await this.deps.engine.start(pushApprovalFlow.id, {
      flowId,
      userId: user.username,
      purpose: options.purpose,
      method: 'push',
      expiresAt: at + ttlMs,
      input,
    });
    return { flow, number };
  }

  /** The number of an open push, for the screen that started it (derived again, never stored). */
  numberOf(flow: FlowRecord): string {
    const { number } = pushContext(flow);
    return this.deps.secrets.codeFor(flow.id, number.nonce, number.digits);
  }

  /**
   * The open push this device may answer, if any; with `deliver`, fetching it marks it delivered to the device.
   * Every protocol's challenge view starts here.
   */
  async openChallengeFor(device: Device, options: { deliver: boolean }): Promise<FlowRecord | null> {
    const flow = await this.openPushOf(device.userId);
    if (!flow || !mayAnswer(view(flow), device.id)) return null;
    if (options.deliver && !pushContext(flow).deliveredTo.includes(device.id)) {
      await this.deps.engine.dispatch(
        flow.id,
        { type: 'DELIVERED', at: this.deps.clock.now(), deviceId: device.id },
        { loaded: flow },
      );
    }
    return flow;
  }

  /** The challenges this device may answer now; fetching one marks it delivered. */
  async pendingFor(device: Device): Promise<ChallengeView[]> {
    const flow = await this.openChallengeFor(device, { deliver: true });
    if (!flow) return [];
    const context = pushContext(flow);
    return [
      {
        id: flow.id,
        nonce: context.challengeNonce,
        service: context.request.service,
        purpose: context.request.purpose,
        ip: context.request.ip,
        userAgent: context.request.userAgent,
        createdAt: new Date(context.createdAt).toISOString(),
        expiresAt: new Date(context.expiresAt).toISOString(),
        pinRequired: context.pinRequired,
        numberDigits: context.number.digits,
      },
    ];
  }

  /** A device's signed answer. Refusals change nothing: the machine only sees an answer that may count. */
  async answer(device: Device, flowId: string, answer: DeviceAnswer) {
    if (answer.challengeId !== flowId)
      throw new AppError('invalid_request', 'challengeId: does not match the URL');
    const flow = await this.deps.engine.get(flowId).catch(() => null);
    if (!flow || flow.machine !== pushApprovalFlow.id) throw new AppError('challenge_not_found');
    const context = pushContext(flow);
    if (flow.userId !== device.userId || !context.deviceIds.includes(device.id))
      throw new AppError('forbidden');
    if (!isPushOpen(view(flow)))
      throw new AppError('challenge_closed', `The challenge is already ${flow.status}`, {
        status: flow.status,
      });
    if (answer.nonce !== context.challengeNonce) throw new AppError('stale_challenge');

    const numberDigest =
      answer.number && /^\d{1,10}$/.test(answer.number)
        ? this.deps.secrets.digest(flowId, answer.number)
        : null;
    // Only a right number on an approval is worth an scrypt: anything else fails or needs no PIN.
    const pinOk =
      answer.decision === 'approve' && numberDigest === context.number.digest && context.pinRequired
        ? await this.pinMatches(flow.userId, answer.pin)
        : false;
    const result = await this.deps.engine.dispatch(
      flowId,
      {
        type: 'ANSWER',
        at: this.deps.clock.now(),
        deviceId: device.id,
        challengeNonce: answer.nonce,
        decision: answer.decision,
        numberDigest,
        pinOk,
      },
      { loaded: flow },
    );
    if (result.flow.status !== 'pending') await this.clearOpen(flow.userId, flowId);
    const reason = pushContext(result.flow).reason;
    return { id: flowId, status: result.flow.status, ...(reason ? { reason } : {}) };
  }

  private async pinMatches(userId: string, pin: string | undefined): Promise<boolean> {
    if (!pin || !/^\d{4,12}$/.test(pin)) return false;
    const user = await this.deps.users.get(userId);
    return user?.pinHash ? this.deps.hasher.verify(pin, user.pinHash) : false;
  }

  private async openPushOf(userId: string): Promise<FlowRecord | null> {
    const flowId = await this.deps.redis.get(this.openKey(userId));
    if (!flowId) return null;
    const flow = await this.deps.engine.get(flowId).catch(() => null);
    return flow && flow.machine === pushApprovalFlow.id && isPushOpen(view(flow)) ? flow : null;
  }

  /** One open push per user: a new one cancels the old, whose number is then worthless. */
  private async supersedeOpenPush(userId: string): Promise<void> {
    const open = await this.openPushOf(userId);
    if (open) {
      await this.deps.engine.dispatch(
        open.id,
        { type: 'CANCEL', at: this.deps.clock.now(), reason: 'superseded' },
        { loaded: open },
      );
    }
  }

  private async clearOpen(userId: string, flowId: string): Promise<void> {
    const key = this.openKey(userId);
    await this.deps.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end",
      1,
      key,
      flowId,
    );
  }

  private openKey(userId: string) {
    return this.deps.keys.openPush(userKeyOf(userId));
  }
}

const view = (flow: FlowRecord): PushSnapshotView => pushView(flow.snapshot);
export const pushContext = (flow: FlowRecord) => view(flow).context;
