import { randomBytes } from 'node:crypto';
import { type Language, translate } from '../../flows/i18n/index.js';
import { voiceCallFlow } from '../../flows/registry.js';
import type { VoiceCallContext, VoiceCallInput, VoiceMode } from '../../flows/voice-call/machine.js';
import { type GatheringStep, type VoiceStep, voiceView } from '../../flows/voice-call/view.js';
import type {
  AnsweredBy,
  CallEndStatus,
  VoiceLanguage,
  VoicePrompt,
  VoiceSessionHandler,
} from '../carriers/voice-port.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { FlowEngine } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';
import { answeringUser } from './answering-user.js';
import { judgeDigits } from './voice-judge.js';

const VOICE_LANGUAGE: Record<Language, VoiceLanguage> = { en: 'en-US', es: 'es-ES' };
const newToken = () => randomBytes(9).toString('base64url');

/** Where a new verification sits: its id and purpose, and for a child its parent and the PIN to check. */
export interface FlowLink {
  flowId: string;
  purpose: string;
  parentId?: string;
  proofPinHash?: string;
  /** Who is signing in (address, browser), shown by the mobile app with a push. */
  request?: { ip?: string; userAgent?: string };
}

/** A child's screen code is derived from its id with this label (an API start draws a random nonce). */
const SCREEN_CODE_LABEL = 'screen-code';

export interface VoiceStart {
  flow: FlowRecord;
  /** Code mode: the digits to show on the screen that started the verification. */
  code?: string;
}

/**
 * Voice verifications: starts the call flow, and answers the carrier's call events (cXML webhooks or Relay)
 * with the prompt of the state the flow moved to.
 */
export class VoiceCalls implements VoiceSessionHandler {
  constructor(
    private readonly deps: {
      config: Pick<Config, 'voice' | 'pin' | 'otp' | 'fraudBlockDays' | 'serviceName'>;
      engine: FlowEngine;
      users: UserStore;
      secrets: CodeSecrets;
      hasher: SecretHasher;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async start(user: User, link: FlowLink): Promise<VoiceStart> {
    const { config, clock } = this.deps;
    const { flowId } = link;
    const to = user.phones.primary ?? user.phones.mobile;
    if (!to) throw new AppError('no_phone', 'The user has no phone number to call');
    const mode = this.modeFor(user);
    const nonce = link.parentId ? SCREEN_CODE_LABEL : this.deps.secrets.newNonce();
    const code = mode === 'code' ? this.deps.secrets.codeFor(flowId, nonce, config.otp.length) : undefined;
    const at = clock.now();
    const input: Omit<VoiceCallInput, 'flowId'> = {
      userId: user.username,
      language: user.language,
      service: config.serviceName,
      mode,
      to,
      extension: user.phones.primary ? (user.phones.extension ?? null) : null,
      backup: user.phones.backup && user.phones.backup !== to ? user.phones.backup : null,
      backupOn: [...config.voice.backupOn],
      pinMustChange: user.pinMustChange,
      codeDigest: code ? this.deps.secrets.digest(flowId, code) : null,
      pinLength: { min: config.pin.minLength, max: config.pin.maxLength },
      maxAttempts: config.otp.maxAttempts,
      maxNoInput: config.voice.noInputTries,
      maxPinChanges: 3,
      ringTimeoutSec: config.voice.ringSeconds,
      maxCallSec: config.voice.maxCallSeconds,
      machineDetection: config.voice.machineDetection,
      fraudBlockDays: config.fraudBlockDays,
      at,
      timerToken: newToken(),
      ...(link.proofPinHash ? { proofPinHash: link.proofPinHash } : {}),
    };
    const expiresAt = at + (config.voice.ringSeconds * 2 + config.voice.maxCallSeconds) * 1000;
    const flow = await this.deps.engine.start(voiceCallFlow.id, {
      flowId,
      ...(link.parentId ? { parentId: link.parentId } : {}),
      userId: user.username,
      purpose: link.purpose,
      method: 'voice',
      expiresAt,
      input,
    });
    return code ? { flow, code } : { flow };
  }

  async onAnswered(flowId: string, callSid: string, answeredBy: AnsweredBy): Promise<VoicePrompt> {
    const result = await this.deps.engine.dispatch(
      flowId,
      { type: 'ANSWERED', at: this.deps.clock.now(), callSid, answeredBy, callToken: newToken() },
      { idempotencyKey: `voice-answer:${flowId}:${callSid}` },
    );
    return this.promptOf(result.flow);
  }

  /**
   * `step` is the prompt the keys answer (cXML puts it in the gather URL): keys for an older prompt, such as a
   * retried webhook, change nothing and hear the current prompt again.
   */
  async onDigits(
    flowId: string,
    callSid: string,
    digits: string | null,
    step?: number,
  ): Promise<VoicePrompt> {
    const flow = await this.deps.engine.get(flowId);
    const view = voiceView(flow.snapshot);
    const { context } = view;
    const current = gathering(view.step);
    if (!current || (step !== undefined && step !== context.prompts)) return this.promptOf(flow);
    const user = await answeringUser(flow, this.deps.users);
    const stored = user?.pinHash;
    const refresh = stored
      ? (fresh: string) => this.deps.users.replacePinHash(flow.userId, stored, fresh)
      : undefined;
    const facts = await judgeDigits(
      current,
      context,
      digits,
      user,
      this.deps.secrets,
      this.deps.hasher,
      refresh,
    );
    const result = await this.deps.engine.dispatch(
      flowId,
      { type: 'DIGITS', at: this.deps.clock.now(), callSid, facts },
      { idempotencyKey: `voice-digits:${flowId}:${callSid}:${context.prompts}`, loaded: flow },
    );
    return this.promptOf(result.flow);
  }

  async onEnded(flowId: string, callSid: string, status: CallEndStatus): Promise<void> {
    await this.deps.engine.dispatch(
      flowId,
      { type: 'CALL_ENDED', at: this.deps.clock.now(), callSid, status },
      { idempotencyKey: `voice-status:${flowId}:${callSid}:${status}` },
    );
  }

  /** The code a child verification in code mode asks for (see `start`); null in the other modes. */
  screenCode(flowId: string): string | null {
    if (this.deps.config.voice.mode !== 'code') return null;
    return this.deps.secrets.codeFor(flowId, SCREEN_CODE_LABEL, this.deps.config.otp.length);
  }

  /** The prompt of the flow's current state, translated for the user. */
  promptOf(flow: FlowRecord): VoicePrompt {
    const view = voiceView(flow.snapshot);
    const { context } = view;
    const spec = view.prompt(this.deps.config.voice.promptSeconds);
    return {
      step: context.prompts,
      say: spec.lines.map((line) => translate(context.language, line.key, line.params)),
      language: VOICE_LANGUAGE[context.language],
      next: spec.next,
    };
  }

  private modeFor(user: User): VoiceMode {
    const mode = this.deps.config.voice.mode;
    // PIN mode for a user without a PIN falls back to pressing '#', as the seed product does.
    return mode === 'pin' && !user.pinHash ? 'standard' : mode;
  }
}

export function voiceContext(flow: FlowRecord): VoiceCallContext {
  return voiceView(flow.snapshot).context;
}

/** The step whose keys a gather answers; null when the call gathers nothing now. */
function gathering(step: VoiceStep): GatheringStep | null {
  return step === 'dialing' || step === 'final' ? null : step;
}
