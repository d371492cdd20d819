import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EnrollMethod, EnrollmentContext, EnrollmentInput } from '../../flows/enrollment/machine.js';
import { enrollmentFlow } from '../../flows/registry.js';
import { pinProblem } from '../../flows/voice-call/pin-rules.js';
import {
  type PageBase,
  renderChooseMethod,
  renderDetails,
  renderHome,
  renderPinChange,
  renderQuestionChallenge,
  renderQuestions,
  renderWaiting,
} from '../../web/portal/enrollment-pages.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { FlowEngine } from '../engine/engine.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import { type Logger, maskPhone } from '../log.js';
import type { Mailer } from '../mail/mailer.js';
import { changeNotice } from '../mail/templates.js';
import { normalizePhone } from '../phone/phone-number.js';
import {
  DEFAULT_QUESTION_CATALOG,
  hashAnswers,
  type QuestionStore,
  questionText,
  validateQuestionAnswers,
  verifyAnswer,
} from '../questions/index.js';
import { hashSecret, verifySecret } from '../security/pin-hash.js';
import type { AuditLog } from '../store/audit-log.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';
import type { VerificationService } from '../verification/verification-service.js';
import { sendHtml } from './login.js';
import { establishSession, requireStage, saveSession } from './portal-security.js';

export interface EnrollmentRoutesDeps {
  config: Pick<Config, 'portal' | 'phones' | 'pin' | 'otp' | 'serviceName' | 'voice'>;
  engine: FlowEngine;
  users: UserStore;
  verifications: VerificationService;
  questions: QuestionStore;
  mailer: Mailer;
  audit: AuditLog;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
}

const CHALLENGE_SIZE = 2;
const CHALLENGE_TRIES = { limit: 3, windowSeconds: 900 };

const QUESTION_COUNT = 4;
type Form = Record<string, string>;

/**
 * The portal's pages after the password: the second factor, the enrollment wizard, the home page and its
 * changes. Pages render the state of flows and dispatch events to them; they hold no flow logic.
 */
export function enrollmentRoutes(deps: EnrollmentRoutesDeps): FastifyPluginAsync {
  const { engine, users, config } = deps;
  const signedIn = requireStage('password');
  const verified = requireStage('verified');

  const base = (request: FastifyRequest): PageBase => {
    const session = request.portalSession!;
    return {
      serviceName: config.serviceName,
      account: { username: session.username ?? '', csrfToken: session.csrf },
    };
  };
  const currentUser = async (request: FastifyRequest): Promise<User> => {
    const user = await users.get(request.portalSession?.username ?? '');
    if (!user) throw new AppError(403, 'no_account', 'Your account is not set up for sign-in verification');
    return user;
  };

  /** The wizard flow of this session, when it is still running. */
  async function activeWizard(request: FastifyRequest): Promise<FlowRecord | null> {
    const id = request.portalSession?.data.wizard;
    if (!id) return null;
    const flow = await engine.store.load(id);
    return flow && flow.userId === request.portalSession?.username ? flow : null;
  }

  async function startWizard(request: FastifyRequest, user: User, purpose: EnrollmentInput['purpose']) {
    const input: Omit<EnrollmentInput, 'flowId'> = {
      userId: user.username,
      methods: config.portal.methods,
      currentMethod: user.method === 'sms' || user.method === 'voice' ? user.method : null,
      questionsRequired: config.portal.securityQuestions,
      purpose,
      at: deps.clock.now(),
    };
    const flow = await engine.start(enrollmentFlow.id, {
      userId: user.username,
      purpose: `portal:${purpose}`,
      method: 'portal',
      expiresAt: deps.clock.now() + 8 * 3600_000,
      input,
    });
    const session = request.portalSession!;
    session.data = { ...session.data, wizard: flow.id };
    delete session.data.proofCode;
    await saveSession(request);
    return flow;
  }

  async function dispatch(flow: FlowRecord, event: Parameters<FlowEngine['dispatch']>[1]) {
    return (await engine.dispatch(flow.id, event)).flow;
  }

  return async (app) => {
    // ----- second factor for an enrolled user -----
    app.get('/verify', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      if (session.stage === 'verified') return reply.redirect('/', 303);
      const user = await currentUser(request);
      if (!user.enrolledAt) return reply.redirect('/setup', 303);
      let id = session.data.verify;
      if (!id) {
        const started = await deps.verifications.start({ username: user.username, purpose: 'portal-login' });
        id = started.id;
        session.data = { ...session.data, verify: id, ...(started.code ? { verifyCode: started.code } : {}) };
        await saveSession(request);
      }
      const view = await deps.verifications.get(id);
      if (view.status === 'approved') {
        const { verify: _v, verifyCode: _c, ...data } = session.data;
        await establishSession(request, reply, { stage: 'verified', data });
        return reply.redirect('/', 303);
      }
      const method = view.method === 'voice' ? 'voice' : 'sms';
      return sendHtml(
        reply,
        200,
        renderWaiting(base(request), {
          title: 'Verify it is you',
          method,
          status: view.status,
          ...(view.progress ? { progress: view.progress } : {}),
          ...(view.reason ? { reason: view.reason } : {}),
          codeEntry: method === 'sms' && config.otp.smsMode === 'one-way' && view.status === 'pending',
          ...(session.data.verifyCode ? { showCode: session.data.verifyCode } : {}),
          action: '/verify',
          questionsLink:
            config.portal.questionsAsSecondFactor && (await deps.questions.load(user.username)) !== null,
        }),
      );
    });

    app.post('/verify/code', { preHandler: signedIn }, async (request, reply) => {
      const id = request.portalSession?.data.verify;
      if (id) await deps.verifications.check(id, formOf(request).code ?? '').catch(ignoreClosed);
      return reply.redirect('/verify', 303);
    });

    // Security questions as the second factor: only when configuration allows it, and rate limited.
    app.get('/verify/questions', { preHandler: signedIn }, async (request, reply) => {
      if (!config.portal.questionsAsSecondFactor) return reply.redirect('/verify', 303);
      const user = await currentUser(request);
      const ids = await deps.questions.pickChallenge(user.username, CHALLENGE_SIZE);
      if (!ids) return reply.redirect('/verify', 303);
      const questions = ids.map((id) => ({
        id,
        text: questionText(DEFAULT_QUESTION_CATALOG, id, user.language),
      }));
      return sendHtml(reply, 200, renderQuestionChallenge(base(request), { questions }));
    });

    app.post('/verify/questions', { preHandler: signedIn }, async (request, reply) => {
      if (!config.portal.questionsAsSecondFactor) return reply.redirect('/verify', 303);
      const user = await currentUser(request);
      const form = formOf(request);
      const allowed = await deps.limiter.hit(
        `portal:questions:${user.username}`,
        CHALLENGE_TRIES.limit,
        CHALLENGE_TRIES.windowSeconds,
      );
      const stored = (await deps.questions.load(user.username)) ?? [];
      const expected = (await deps.questions.pickChallenge(user.username, CHALLENGE_SIZE)) ?? [];
      let right = allowed && expected.length === CHALLENGE_SIZE;
      for (let i = 0; i < CHALLENGE_SIZE; i += 1) {
        const id = form[`question${i}`] ?? '';
        // Always hash every answer, so a refusal takes as long as an acceptance.
        const ok = await verifyAnswer(id, form[`answer${i}`] ?? '', stored);
        right = right && ok && id === expected[i];
      }
      if (!right) {
        deps.logger.info({ user: user.username, limited: !allowed }, 'portal: security questions refused');
        const questions = expected.map((id) => ({
          id,
          text: questionText(DEFAULT_QUESTION_CATALOG, id, user.language),
        }));
        const error = allowed
          ? 'Those answers are not right.'
          : 'Too many tries. Use your phone, or try again later.';
        return sendHtml(reply, 401, renderQuestionChallenge(base(request), { questions, error }));
      }
      await deps.questions.releaseChallenge(user.username);
      const { verify: _v, verifyCode: _c, ...data } = request.portalSession!.data;
      await establishSession(request, reply, { stage: 'verified', data });
      deps.logger.info({ user: user.username }, 'portal: second factor by security questions');
      return reply.redirect('/', 303);
    });

    app.post('/verify/restart', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      const { verify: id, verifyCode: _c, ...data } = session.data;
      if (id) await deps.verifications.cancel(id).catch(ignoreClosed);
      session.data = data;
      await saveSession(request);
      return reply.redirect('/verify', 303);
    });

    // ----- the wizard -----
    app.get('/setup', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      const user = await currentUser(request);
      let flow = await activeWizard(request);
      if (!flow || flow.status === 'canceled' || (flow.status === 'approved' && !isEnroll(flow))) {
        if (user.enrolledAt && session.stage !== 'verified') return reply.redirect('/verify', 303);
        if (user.enrolledAt && flow?.status !== 'approved') return reply.redirect('/', 303);
        flow = await startWizard(request, user, 'enroll');
      }
      return renderWizard(request, reply, flow, user, {});
    });

    app.post('/setup/method', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      const method = formOf(request).method;
      if (flow && (method === 'voice' || method === 'sms')) await dispatch(flow, { type: 'CHOOSE', method });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/back', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      if (flow) await dispatch(flow, { type: 'BACK' });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/restart', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      if (flow) await dispatch(flow, { type: 'BACK' });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/details', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      const user = await currentUser(request);
      if (!flow || stateOf(flow) !== 'details') return reply.redirect('/setup', 303);
      const context = wizardContext(flow);
      const method = context.method ?? 'sms';
      const form = formOf(request);
      const { phones, pin, errors } = readDetails(form, method, user, !!user.pinHash && !isEnroll(flow));
      if (Object.keys(errors).length > 0)
        return renderWizard(request, reply, flow, user, { form, errors }, 400);
      const pinHash = pin ? await hashSecret(pin) : null;
      const moved = await dispatch(flow, { type: 'SUBMIT_DETAILS', phones, pinHash });
      try {
        const proof = await deps.verifications.startProof({
          username: user.username,
          method,
          enrollmentFlowId: flow.id,
          phones: { ...user.phones, ...withoutNull(phones) },
          pinHash,
        });
        await dispatch(moved, { type: 'PROOF_STARTED', verificationId: proof.id });
        const session = request.portalSession!;
        session.data = { ...session.data, ...(proof.code ? { proofCode: proof.code } : {}) };
        await saveSession(request);
      } catch (error) {
        if (!(error instanceof AppError) || error.statusCode >= 500) throw error;
        const back = await dispatch(moved, { type: 'BACK' });
        return renderWizard(
          request,
          reply,
          back,
          user,
          { form, errors: {}, notice: error.message },
          error.statusCode,
        );
      }
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/code', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      const id = flow ? wizardContext(flow).verificationId : null;
      if (id) await deps.verifications.check(id, formOf(request).code ?? '').catch(ignoreClosed);
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/questions', { preHandler: signedIn }, async (request, reply) => {
      const flow = await activeWizard(request);
      const user = await currentUser(request);
      if (!flow || stateOf(flow) !== 'questions') return reply.redirect('/setup', 303);
      const form = formOf(request);
      const entries = Array.from({ length: QUESTION_COUNT }, (_, i) => ({
        questionId: form[`question${i}`] ?? '',
        answer: form[`answer${i}`] ?? '',
      }));
      const problems = validateQuestionAnswers(entries, {
        required: QUESTION_COUNT,
        minAnswerLength: 3,
        catalog: DEFAULT_QUESTION_CATALOG,
      });
      if (problems.length > 0) {
        const errors: Record<string, string> = {};
        for (const p of problems) {
          const match = /^answers\.(\d+)\.(questionId|answer)$/.exec(p.field);
          errors[match ? `${match[2] === 'answer' ? 'answer' : 'question'}${match[1]}` : 'form'] = p.message;
        }
        return renderWizard(request, reply, flow, user, { form, errors, notice: errors.form }, 400);
      }
      await dispatch(flow, { type: 'SUBMIT_QUESTIONS', answers: await hashAnswers(entries) });
      return reply.redirect('/setup', 303);
    });

    // ----- home and self-management -----
    app.get('/', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(request);
      const notice = request.portalSession?.data.notice;
      if (notice) {
        const { notice: _n, ...data } = request.portalSession!.data;
        request.portalSession!.data = data;
        await saveSession(request);
      }
      const phones = [
        ['Primary phone', user.phones.primary],
        ['Extension', user.phones.extension],
        ['Backup phone', user.phones.backup],
        ['Mobile phone', user.phones.mobile],
      ].filter((p): p is [string, string] => !!p[1]);
      return sendHtml(
        reply,
        200,
        renderHome(base(request), {
          displayName: user.displayName,
          method: user.method === 'voice' ? 'Voice Call' : user.method === 'sms' ? 'SMS Text' : user.method,
          phones: phones.map(([label, value]) => ({
            label,
            value: label === 'Extension' ? value : maskPhone(value),
          })),
          hasQuestions: (await deps.questions.load(user.username)) !== null,
          ...(notice ? { notice } : {}),
          allow: {
            phone: true,
            pin: true,
            method: config.portal.methods.length > 1,
            questions: config.portal.securityQuestions,
          },
        }),
      );
    });

    for (const [path, purpose] of [
      ['/manage/phone', 'change-phone'],
      ['/manage/method', 'change-method'],
      ['/manage/questions', 'change-questions'],
    ] as const) {
      app.post(path, { preHandler: verified }, async (request, reply) => {
        await startWizard(request, await currentUser(request), purpose);
        return reply.redirect('/setup', 303);
      });
    }

    app.get('/manage/pin', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(request);
      return sendHtml(reply, 200, renderPinChange(base(request), { errors: {}, askCurrent: !!user.pinHash }));
    });

    // A PIN change needs the current PIN (or, for a user without one, the fresh verification of this session).
    app.post('/manage/pin', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(request);
      const form = formOf(request);
      const errors: Record<string, string> = {};
      if (user.pinHash && !(await verifySecret(form.currentPin ?? '', user.pinHash))) {
        errors.currentPin = 'That is not your current PIN.';
      }
      const pin = form.pin ?? '';
      const problem = pinProblem(
        pin,
        { minLength: config.pin.minLength, maxLength: config.pin.maxLength },
        phonesOf(user),
      );
      if (problem) errors.pin = PIN_PROBLEMS[problem];
      else if (user.pinHash && (await verifySecret(pin, user.pinHash)))
        errors.pin = 'The new PIN must differ from the old one.';
      if (pin !== (form.pinConfirm ?? '')) errors.pinConfirm = 'The two PINs do not match.';
      if (Object.keys(errors).length > 0) {
        return sendHtml(reply, 400, renderPinChange(base(request), { errors, askCurrent: !!user.pinHash }));
      }
      const pinHash = await hashSecret(pin);
      await users.update(user.username, (u) => ({
        ...u,
        pinHash,
        pinMustChange: false,
        updatedAt: deps.clock.now(),
      }));
      await deps.audit.append({ event: 'portal.change-pin', userId: user.username });
      deps.logger.info({ user: user.username }, 'PIN changed in the portal');
      await notify(user, 'pin');
      request.portalSession!.data = { ...request.portalSession!.data, notice: 'Your PIN was changed.' };
      await saveSession(request);
      return reply.redirect('/', 303);
    });
  };

  async function notify(user: User, change: 'pin') {
    if (!user.email) return;
    const mail = changeNotice(user.language, {
      displayName: user.displayName,
      change,
      at: new Date(deps.clock.now()),
      serviceName: config.serviceName,
    });
    await deps.mailer.send({ to: user.email, ...mail }).catch((err: Error) => {
      deps.logger.warn({ err, user: user.username }, 'change notice not sent');
    });
  }

  /** Shows the page of the wizard's state; a proof in progress is checked first and its verdict dispatched. */
  async function renderWizard(
    request: FastifyRequest,
    reply: FastifyReply,
    initial: FlowRecord,
    user: User,
    extra: { form?: Form; errors?: Record<string, string>; notice?: string },
    status = 200,
  ) {
    let flow = initial;
    const context = () => wizardContext(flow);
    if (stateOf(flow) === 'proving' && context().verificationId) {
      const proof = await deps.verifications.get(context().verificationId!);
      if (proof.status !== 'pending') {
        flow = await dispatch(flow, { type: 'PROOF_RESULT', verificationId: proof.id, status: proof.status });
        if (stateOf(flow) === 'details')
          extra = {
            ...extra,
            notice: `That did not work (${proof.reason ?? proof.status}). Check the details and try again.`,
          };
      }
    }
    const page = base(request);
    switch (stateOf(flow)) {
      case 'chooseMethod':
        return sendHtml(reply, status, renderChooseMethod(page, { methods: context().methods }));
      case 'details': {
        const method = context().method ?? 'sms';
        return sendHtml(
          reply,
          status,
          renderDetails(page, {
            method,
            values: extra.form ?? defaultsFor(user),
            errors: extra.errors ?? {},
            askPin: config.portal.requirePin || !!user.pinHash,
            pinOptional: !!user.pinHash && !isEnroll(flow),
            canGoBack: context().methods.length > 1,
            ...(extra.notice ? { notice: extra.notice } : {}),
          }),
        );
      }
      case 'proving': {
        const method = context().method ?? 'sms';
        const proof = context().verificationId
          ? await deps.verifications.get(context().verificationId!)
          : null;
        const code = request.portalSession?.data.proofCode;
        return sendHtml(
          reply,
          status,
          renderWaiting(page, {
            title: method === 'voice' ? 'Voice Call' : 'SMS Text',
            method,
            status: proof?.status ?? 'pending',
            ...(proof?.progress ? { progress: proof.progress } : {}),
            codeEntry: method === 'sms' && config.otp.smsMode === 'one-way',
            ...(code ? { showCode: code } : {}),
            action: '/setup',
          }),
        );
      }
      case 'questions':
        return sendHtml(
          reply,
          status,
          renderQuestions(page, {
            questions: DEFAULT_QUESTION_CATALOG.questions.map((q) => ({
              id: q.id,
              text: questionText(DEFAULT_QUESTION_CATALOG, q.id, user.language),
            })),
            count: QUESTION_COUNT,
            values: extra.form ?? {},
            errors: extra.errors ?? {},
            ...(extra.notice ? { error: extra.notice } : {}),
          }),
        );
      default: {
        // Done: the proof was a verification, so the session counts as verified from here.
        const { wizard: _w, proofCode: _p, ...data } = request.portalSession!.data;
        const notice = isEnroll(flow) ? 'You are enrolled.' : 'Your settings were changed.';
        await establishSession(request, reply, { stage: 'verified', data: { ...data, notice } });
        return reply.redirect('/', 303);
      }
    }
  }

  function readDetails(form: Form, method: EnrollMethod, user: User, pinOptional: boolean) {
    const errors: Record<string, string> = {};
    const phones: Record<string, string | null> = {};
    const phone = (name: 'primary' | 'backup' | 'mobile', required: boolean) => {
      const value = (form[name] ?? '').trim();
      if (!value) {
        if (required) errors[name] = 'Enter a phone number.';
        else phones[name] = null;
        return;
      }
      try {
        phones[name] = normalizePhone(value, config.phones, name);
      } catch (error) {
        errors[name] =
          error instanceof AppError && error.code === 'phone_not_allowed'
            ? 'This number cannot be used (premium-rate, shared-cost or another country).'
            : 'This is not a valid phone number.';
      }
    };
    if (method === 'voice') {
      phone('primary', true);
      phone('backup', false);
      const extension = (form.extension ?? '').trim();
      if (extension && !/^[0-9*#]{1,16}$/.test(extension)) errors.extension = 'Digits only, at most 16.';
      phones.extension = extension || null;
    } else {
      phone('mobile', true);
    }
    const pin = form.pin ?? '';
    const askPin = config.portal.requirePin || !!user.pinHash;
    if (askPin && !(pinOptional && pin === '' && (form.pinConfirm ?? '') === '')) {
      const numbers = [...phonesOf(user), ...Object.values(phones).filter((p): p is string => !!p)];
      const problem = pinProblem(
        pin,
        { minLength: config.pin.minLength, maxLength: config.pin.maxLength },
        numbers,
      );
      if (problem) errors.pin = PIN_PROBLEMS[problem];
      if (pin !== (form.pinConfirm ?? '')) errors.pinConfirm = 'The two PINs do not match.';
      return { phones, pin, errors };
    }
    return { phones, pin: '', errors };
  }
}

const PIN_PROBLEMS = {
  length: 'A PIN has 4 to 8 digits.',
  'not-digits': 'A PIN has digits only.',
  trivial: 'That PIN is too easy to guess.',
  'phone-digits': 'A PIN must not be part of your phone number.',
} as const;

function formOf(request: FastifyRequest): Form {
  const body = request.body;
  if (!body || typeof body !== 'object') return {};
  const out: Form = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string' && value.length <= 1000) out[key] = value;
  }
  return out;
}

function wizardContext(flow: FlowRecord): EnrollmentContext {
  return (flow.snapshot as { context: EnrollmentContext }).context;
}

function stateOf(flow: FlowRecord): string {
  return String((flow.snapshot as { value: unknown }).value);
}

function isEnroll(flow: FlowRecord): boolean {
  return wizardContext(flow).purpose === 'enroll';
}

function phonesOf(user: User): string[] {
  return [user.phones.primary, user.phones.backup, user.phones.mobile].filter((p): p is string => !!p);
}

function defaultsFor(user: User): Form {
  return {
    primary: user.phones.primary ?? '',
    extension: user.phones.extension ?? '',
    backup: user.phones.backup ?? '',
    mobile: user.phones.mobile ?? '',
  };
}

function withoutNull(phones: Record<string, string | null>): User['phones'] {
  return Object.fromEntries(Object.entries(phones).filter(([, v]) => v !== null)) as User['phones'];
}

function ignoreClosed(error: unknown) {
  if (error instanceof AppError && error.statusCode < 500) return;
  throw error;
}
