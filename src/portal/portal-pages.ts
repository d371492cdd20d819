import type { FastifyRequest } from 'fastify';
import type { EnrollmentInput, EnrollmentPurpose } from '../../flows/enrollment/machine.js';
import { type EnrollmentView, enrollmentView } from '../../flows/enrollment/view.js';
import { translate } from '../../flows/i18n/index.js';
import {
  type PinPolicy,
  type PinProblem,
  pinLengthParams,
  pinProblemMessage,
} from '../../flows/pin-policy.js';
import { enrollmentFlow } from '../../flows/registry.js';
import type { PageBase } from '../../web/portal/enrollment-pages.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { DirectEffects } from '../engine/direct-effects.js';
import type { FlowEngine } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QuestionStore } from '../questions/index.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';
import type { VerificationService } from '../verification/verification-service.js';
import { requireStage, saveSession } from './portal-security.js';

/** What the portal's pages after the password need. */
export interface PortalPagesDeps {
  config: Pick<Config, 'portal' | 'phones' | 'pin' | 'otp' | 'serviceName' | 'voice'>;
  engine: FlowEngine;
  users: UserStore;
  verifications: VerificationService;
  questions: QuestionStore;
  /** Audits and notices of changes made outside a flow, as effect jobs. */
  effects: DirectEffects;
  guard: SecretGuard;
  hasher: SecretHasher;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
}

export type Form = Record<string, string>;

export const signedIn = requireStage('password');
export const verified = requireStage('verified');

export function pageBase(request: FastifyRequest, serviceName: string): PageBase {
  const session = request.portalSession!;
  return { serviceName, account: { username: session.username ?? '', csrfToken: session.csrf } };
}

export async function currentUser(users: UserStore, request: FastifyRequest): Promise<User> {
  const user = await users.get(request.portalSession?.username ?? '');
  if (!user) throw new AppError('no_account');
  return user;
}

/**
 * The session's enrollment or self-management flow: every wizard page renders its state, so a reload or a second
 * tab resumes where the user is.
 */
export class WizardFlows {
  constructor(private readonly deps: Pick<PortalPagesDeps, 'engine' | 'config' | 'clock'>) {}

  /** The wizard flow of this session, when there is one. */
  async active(request: FastifyRequest): Promise<FlowRecord | null> {
    const id = request.portalSession?.data.wizard;
    if (!id) return null;
    const flow = await this.deps.engine.store.load(id);
    return flow && flow.userId === request.portalSession?.username ? flow : null;
  }

  async start(request: FastifyRequest, user: User, purpose: EnrollmentPurpose): Promise<FlowRecord> {
    const { config, clock, engine } = this.deps;
    const session = request.portalSession!;
    const phoneVerifiedAt = Number(session.data.phoneVerifiedAt);
    const input: Omit<EnrollmentInput, 'flowId'> = {
      userId: user.username,
      methods: config.portal.methods,
      currentMethod: user.method === 'sms' || user.method === 'voice' ? user.method : null,
      questionsRequired: config.portal.securityQuestions,
      purpose,
      precondition: { enrolledAt: user.enrolledAt ?? null, updatedAt: user.updatedAt },
      current: { phones: user.phones, hasPin: user.pinHash !== null },
      sessionHandle: session.handle,
      phoneVerifiedAt: Number.isFinite(phoneVerifiedAt) && phoneVerifiedAt > 0 ? phoneVerifiedAt : null,
      freshFactorMs: config.portal.factorChangeFreshMs,
      at: clock.now(),
    };
    const flow = await engine.start(enrollmentFlow.id, {
      userId: user.username,
      purpose: `portal:${purpose}`,
      method: 'portal',
      expiresAt: clock.now() + 8 * 3600_000,
      input,
    });
    session.data = { ...session.data, wizard: flow.id };
    await saveSession(request);
    return flow;
  }

  async dispatch(flow: FlowRecord, event: Parameters<FlowEngine['dispatch']>[1]): Promise<FlowRecord> {
    return (await this.deps.engine.dispatch(flow.id, event)).flow;
  }
}

/** The typed view of a wizard flow: its step, the child it waits for, its context. */
export const wizardOf = (flow: FlowRecord): EnrollmentView => enrollmentView(flow.snapshot);

/** The portal's pages are in English for now; the words come from the PIN policy's catalogue entries. */
export function pinProblemText(problem: PinProblem, policy: PinPolicy): string {
  return pinProblemMessage('en', problem, policy);
}

export function pinHint(policy: PinPolicy): string {
  return translate('en', 'pin.hint', pinLengthParams(policy));
}

export function formOf(request: FastifyRequest): Form {
  const body = request.body;
  if (!body || typeof body !== 'object') return {};
  const out: Form = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string' && value.length <= 1000) out[key] = value;
  }
  return out;
}

export function ignoreClosed(error: unknown) {
  if (error instanceof AppError && error.statusCode < 500) return;
  throw error;
}
