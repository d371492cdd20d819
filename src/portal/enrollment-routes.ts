import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EnrollMethod } from '../../flows/enrollment/machine.js';
import { pinProblem } from '../../flows/pin-policy.js';
import {
  renderChooseMethod,
  renderDetails,
  renderQuestions,
  renderWaiting,
} from '../../web/portal/enrollment-pages.js';
import type { FlowRecord } from '../engine/flow-store.js';
import { AppError } from '../errors.js';
import { normalizePhone } from '../phone/phone-number.js';
import {
  DEFAULT_QUESTION_CATALOG,
  hashAnswers,
  questionText,
  validateQuestionAnswers,
} from '../questions/index.js';
import { phoneNumbersOf, type User } from '../users/user.js';
import { sendHtml } from './login.js';
import {
  currentUser,
  type Form,
  formOf,
  ignoreClosed,
  type PortalPagesDeps,
  pageBase,
  pinHint,
  pinProblemText,
  signedIn,
  WizardFlows,
  wizardContext,
} from './portal-pages.js';
import { establishSession, saveSession } from './portal-security.js';

const QUESTION_COUNT = 4;

/**
 * The enrollment wizard (and the self-management changes that reuse it): each page renders the state of the
 * enrollment flow and sends it events; the flow decides what comes next.
 */
export function enrollmentRoutes(deps: PortalPagesDeps): FastifyPluginAsync {
  const { users, config } = deps;
  const wizards = new WizardFlows(deps);

  return async (app) => {
    // ----- the wizard -----
    app.get('/setup', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      const user = await currentUser(users, request);
      let flow = await wizards.active(request);
      if (!flow || flow.status === 'canceled' || (flow.status === 'approved' && !isEnroll(flow))) {
        if (user.enrolledAt && session.stage !== 'verified') return reply.redirect('/verify', 303);
        if (user.enrolledAt && flow?.status !== 'approved') return reply.redirect('/', 303);
        flow = await wizards.start(request, user, 'enroll');
      }
      return renderWizard(request, reply, flow, user, {});
    });

    app.post('/setup/method', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const method = formOf(request).method;
      if (flow && (method === 'voice' || method === 'sms'))
        await wizards.dispatch(flow, { type: 'CHOOSE', method });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/back', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      if (flow) await wizards.dispatch(flow, { type: 'BACK' });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/restart', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      if (flow) await wizards.dispatch(flow, { type: 'BACK' });
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/details', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const user = await currentUser(users, request);
      if (!flow || stateOf(flow) !== 'details') return reply.redirect('/setup', 303);
      const context = wizardContext(flow);
      const method = context.method ?? 'sms';
      const form = formOf(request);
      const { phones, pin, errors } = readDetails(form, method, user, !!user.pinHash && !isEnroll(flow));
      if (Object.keys(errors).length > 0)
        return renderWizard(request, reply, flow, user, { form, errors }, 400);
      const pinHash = pin ? await deps.hasher.hash(pin) : null;
      const moved = await wizards.dispatch(flow, { type: 'SUBMIT_DETAILS', phones, pinHash });
      try {
        const proof = await deps.verifications.startProof({
          username: user.username,
          method,
          enrollmentFlowId: flow.id,
          phones: { ...user.phones, ...withoutNull(phones) },
          pinHash,
        });
        await wizards.dispatch(moved, { type: 'PROOF_STARTED', verificationId: proof.id });
        const session = request.portalSession!;
        session.data = { ...session.data, ...(proof.code ? { proofCode: proof.code } : {}) };
        await saveSession(request);
      } catch (error) {
        if (!(error instanceof AppError) || error.statusCode >= 500) throw error;
        const back = await wizards.dispatch(moved, { type: 'BACK' });
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
      const flow = await wizards.active(request);
      const id = flow ? wizardContext(flow).verificationId : null;
      if (id) await deps.verifications.check(id, formOf(request).code ?? '').catch(ignoreClosed);
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/questions', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const user = await currentUser(users, request);
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
      await wizards.dispatch(flow, {
        type: 'SUBMIT_QUESTIONS',
        answers: await hashAnswers(deps.hasher, entries),
      });
      return reply.redirect('/setup', 303);
    });
  };

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
        flow = await wizards.dispatch(flow, {
          type: 'PROOF_RESULT',
          verificationId: proof.id,
          status: proof.status,
        });
        if (stateOf(flow) === 'details')
          extra = {
            ...extra,
            notice: `That did not work (${proof.reason ?? proof.status}). Check the details and try again.`,
          };
      }
    }
    const page = pageBase(request, config.serviceName);
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
            pinHint: pinHint(config.pin),
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
      case 'done': {
        // The proof was a verification, so the session counts as verified from here.
        const { wizard: _w, proofCode: _p, ...data } = request.portalSession!.data;
        const notice = isEnroll(flow) ? 'You are enrolled.' : 'Your settings were changed.';
        await establishSession(request, reply, { stage: 'verified', data: { ...data, notice } });
        return reply.redirect('/', 303);
      }
      default: {
        // Canceled (too many failed proofs): nothing was saved and nothing was proven; start over.
        const { wizard: _w, proofCode: _p, ...data } = request.portalSession!.data;
        request.portalSession!.data = data;
        await saveSession(request);
        const home = request.portalSession!.stage === 'verified';
        return reply.redirect(home ? '/' : '/setup', 303);
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
      const numbers = [...phoneNumbersOf(user), ...Object.values(phones).filter((p): p is string => !!p)];
      const problem = pinProblem(pin, config.pin, numbers);
      if (problem) errors.pin = pinProblemText(problem, config.pin);
      if (pin !== (form.pinConfirm ?? '')) errors.pinConfirm = 'The two PINs do not match.';
      return { phones, pin, errors };
    }
    return { phones, pin: '', errors };
  }
}

function stateOf(flow: FlowRecord): string {
  return String((flow.snapshot as { value: unknown }).value);
}

function isEnroll(flow: FlowRecord): boolean {
  return wizardContext(flow).purpose === 'enroll';
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
