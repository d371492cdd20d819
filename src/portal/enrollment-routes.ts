import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EnrollMethod, EnrollmentProblem } from '../../flows/enrollment/machine.js';
import { asksCurrentPin } from '../../flows/enrollment/view.js';
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
import { newPinProblem } from '../security/new-pin.js';
import { phoneNumbersOf, type User } from '../users/user.js';
import { judgeCurrentPin } from './current-pin.js';
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
  wizardOf,
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
      // A wizard of this session shows its step (done and canceled included: they say how it ended).
      if (!flow) {
        if (user.enrolledAt) return reply.redirect(session.stage === 'verified' ? '/' : '/verify', 303);
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

    // "Call Me Now" / "Text Me Now": the machine starts the proof as its child and hears the verdict itself.
    app.post('/setup/details', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const user = await currentUser(users, request);
      if (!flow || wizardOf(flow).step !== 'details') return reply.redirect('/setup', 303);
      const { context } = wizardOf(flow);
      const method = context.method ?? 'sms';
      const form = formOf(request);
      const { phones, pin, errors } = readDetails(form, method, user, !!user.pinHash && !isEnroll(flow));
      if (Object.keys(errors).length > 0)
        return renderWizard(request, reply, flow, user, { form, errors }, 400);
      const currentPin = asksCurrentPin(context)
        ? await judgeCurrentPin(deps, user, form.currentPin ?? '')
        : 'none';
      // "Not the current PIN" only once the current PIN was right: otherwise it would tell a guesser the PIN.
      if (pin && user.pinHash && (currentPin === 'right' || !asksCurrentPin(context))) {
        const same = await newPinProblem(pin, config.pin, [], {
          pinHash: user.pinHash,
          verify: (candidate, hash) => deps.hasher.verify(candidate, hash),
        });
        if (same) {
          const pinError = { pin: pinProblemText(same, config.pin) };
          return renderWizard(request, reply, flow, user, { form, errors: pinError }, 400);
        }
      }
      const pinHash = pin ? await deps.hasher.hash(pin) : null;
      const moved = await wizards.dispatch(flow, {
        type: 'SUBMIT_DETAILS',
        phones,
        pinHash,
        currentPin,
        at: deps.clock.now(),
      });
      const refused = wizardOf(moved);
      if (refused.step === 'details' && refused.context.problem) {
        const status = refused.context.problem === 'locked' ? 423 : 400;
        return renderWizard(request, reply, moved, user, { form }, status);
      }
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/code', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const id = flow ? wizardOf(flow).childId : null;
      if (id) await deps.verifications.check(id, formOf(request).code ?? '').catch(ignoreClosed);
      return reply.redirect('/setup', 303);
    });

    app.post('/setup/questions', { preHandler: signedIn }, async (request, reply) => {
      const flow = await wizards.active(request);
      const user = await currentUser(users, request);
      if (!flow || wizardOf(flow).step !== 'questions') return reply.redirect('/setup', 303);
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
        return renderWizard(request, reply, flow, user, { form, errors }, 400);
      }
      await wizards.dispatch(flow, {
        type: 'SUBMIT_QUESTIONS',
        answers: await hashAnswers(deps.hasher, entries),
      });
      return reply.redirect('/setup', 303);
    });
  };

  /**
   * Shows the page of the wizard's step. The verdict of a proof reaches the machine by itself (`CHILD_DONE`);
   * the page only tells the machine how the user is now, so a wizard gone stale ends before it saves anything.
   */
  async function renderWizard(
    request: FastifyRequest,
    reply: FastifyReply,
    initial: FlowRecord,
    user: User,
    extra: { form?: Form; errors?: Record<string, string> },
    status = 200,
  ) {
    let flow = initial;
    if (flow.status === 'pending')
      flow = await wizards.dispatch(flow, {
        type: 'USER_SEEN',
        user: { enrolledAt: user.enrolledAt ?? null, updatedAt: user.updatedAt },
      });
    const view = wizardOf(flow);
    const { context } = view;
    const page = pageBase(request, config.serviceName);
    switch (view.step) {
      case 'choose-method':
        return sendHtml(reply, status, renderChooseMethod(page, { methods: context.methods }));
      case 'details': {
        const problem = problemText(context.problem, context.proofReason);
        const errors = { ...(problem.field ? { currentPin: problem.field } : {}), ...(extra.errors ?? {}) };
        return sendHtml(
          reply,
          status,
          renderDetails(page, {
            method: context.method ?? 'sms',
            values: extra.form ?? defaultsFor(user),
            errors,
            askCurrentPin: asksCurrentPin(context),
            askPin: config.portal.requirePin || !!user.pinHash,
            pinOptional: !!user.pinHash && !isEnroll(flow),
            pinHint: pinHint(config.pin),
            canGoBack: context.methods.length > 1,
            ...(problem.notice ? { notice: problem.notice } : {}),
          }),
        );
      }
      case 'confirming-current':
      case 'proving-new':
      case 'saving': {
        const current = view.step === 'confirming-current';
        const method = (current ? context.currentMethod : context.method) ?? 'sms';
        const proof = view.childId ? await childView(view.childId) : null;
        const code = view.childId ? deps.verifications.screenCode(view.childId) : null;
        return sendHtml(
          reply,
          status,
          renderWaiting(page, {
            title: current ? 'Confirm it is you' : method === 'voice' ? 'Voice Call' : 'SMS Text',
            method,
            status: view.step === 'saving' ? 'approved' : (proof?.status ?? 'pending'),
            ...(proof?.progress ? { progress: proof.progress } : {}),
            codeEntry: method === 'sms' && config.otp.smsMode === 'one-way' && view.step !== 'saving',
            ...(code && method === 'voice' ? { showCode: code } : {}),
            ...(current ? { intro: 'First we call or text your current phone, to be sure it is you.' } : {}),
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
            ...(extra.errors?.form ? { error: extra.errors.form } : {}),
          }),
        );
      case 'done': {
        // The proof was a verification on the phone she now has, so the session counts as verified from here.
        const { wizard: _w, ...data } = request.portalSession!.data;
        const notice = isEnroll(flow) ? 'You are enrolled.' : 'Your settings were changed.';
        const phoneVerifiedAt =
          context.purpose === 'change-questions' ? data.phoneVerifiedAt : String(deps.clock.now());
        await establishSession(request, reply, {
          stage: 'verified',
          data: { ...data, notice, ...(phoneVerifiedAt ? { phoneVerifiedAt } : {}) },
        });
        return reply.redirect('/', 303);
      }
      case 'canceled': {
        // Nothing was saved and nothing was proven for this session: start over (or go home).
        const { wizard: _w, ...data } = request.portalSession!.data;
        request.portalSession!.data =
          context.canceledBecause === 'stale'
            ? { ...data, notice: 'Your settings were changed elsewhere, so this change was not saved.' }
            : data;
        await saveSession(request);
        const home = request.portalSession!.stage === 'verified';
        return reply.redirect(home ? '/' : '/setup', 303);
      }
    }
  }

  /** A child's status for the waiting page; a child whose start job has not run yet is simply pending. */
  async function childView(id: string) {
    try {
      return await deps.verifications.get(id);
    } catch (error) {
      ignoreClosed(error);
      return null;
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

function isEnroll(flow: FlowRecord): boolean {
  return wizardOf(flow).context.purpose === 'enroll';
}

function defaultsFor(user: User): Form {
  return {
    primary: user.phones.primary ?? '',
    extension: user.phones.extension ?? '',
    backup: user.phones.backup ?? '',
    mobile: user.phones.mobile ?? '',
  };
}

/** What the page says about the machine's last refusal: a field error under the current PIN, or a notice. */
function problemText(
  problem: EnrollmentProblem | null,
  reason: string | null,
): { field?: string; notice?: string } {
  switch (problem) {
    case null:
      return {};
    case 'current-pin-missing':
      return { field: 'Enter your current PIN.' };
    case 'current-pin-wrong':
      return { field: 'That is not your current PIN.' };
    case 'locked':
      return { field: 'Too many wrong PINs: your account is locked. Try again later.' };
    case 'current-proof-failed':
      return { notice: `We could not confirm it is you on your current phone (${reason}). Try again.` };
    case 'proof-failed':
      return { notice: `That did not work (${reason}). Check the details and try again.` };
  }
}
