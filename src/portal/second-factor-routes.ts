import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { renderQuestionChallenge, renderWaiting } from '../../web/portal/enrollment-pages.js';
import { DEFAULT_QUESTION_CATALOG, questionText, verifyAnswer } from '../questions/index.js';
import { sendHtml } from './login.js';
import {
  currentUser,
  formOf,
  ignoreClosed,
  type PortalPagesDeps,
  pageBase,
  signedIn,
} from './portal-pages.js';
import { establishSession, saveSession } from './portal-security.js';

const CHALLENGE_SIZE = 2;
const CHALLENGE_TRIES = { limit: 3, windowSeconds: 900 };

/** The second factor of an enrolled user: a call or text with their method, or (if enabled) security questions. */
export function secondFactorRoutes(deps: PortalPagesDeps): FastifyPluginAsync {
  const { users, config } = deps;
  return async (app) => {
    // ----- second factor for an enrolled user -----
    app.get('/verify', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      if (session.stage === 'verified') return reply.redirect('/', 303);
      const user = await currentUser(users, request);
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
        // A factor change by a user without a PIN needs a recent proof on her phone: this is one.
        const phoneVerifiedAt = String(deps.clock.now());
        await establishSession(request, reply, { stage: 'verified', data: { ...data, phoneVerifiedAt } });
        return reply.redirect('/', 303);
      }
      const method = view.method === 'voice' ? 'voice' : 'sms';
      return sendHtml(
        reply,
        200,
        renderWaiting(pageBase(request, config.serviceName), {
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
      const user = await currentUser(users, request);
      const ids = await deps.questions.pickChallenge(user.username, CHALLENGE_SIZE);
      if (!ids) return reply.redirect('/verify', 303);
      const questions = ids.map((id) => ({
        id,
        text: questionText(DEFAULT_QUESTION_CATALOG, id, user.language),
      }));
      return sendHtml(
        reply,
        200,
        renderQuestionChallenge(pageBase(request, config.serviceName), { questions }),
      );
    });

    app.post('/verify/questions', { preHandler: signedIn }, async (request, reply) => {
      if (!config.portal.questionsAsSecondFactor) return reply.redirect('/verify', 303);
      const user = await currentUser(users, request);
      const form = formOf(request);
      const allowed = await deps.limiter.hit(
        `portal:questions:${user.username}`,
        CHALLENGE_TRIES.limit,
        CHALLENGE_TRIES.windowSeconds,
      );
      const stored = (await deps.questions.load(user.username)) ?? [];
      const expected = (await deps.questions.pickChallenge(user.username, CHALLENGE_SIZE)) ?? [];
      // Wrong answers count in the user's lockout, like wrong PINs and failed verifications.
      const checked = allowed
        ? await deps.guard.check(user.username, 'security-answer', async () => {
            let right = expected.length === CHALLENGE_SIZE;
            for (let i = 0; i < CHALLENGE_SIZE; i += 1) {
              const id = form[`question${i}`] ?? '';
              // Always hash every answer, so a refusal takes as long as an acceptance.
              const ok = await verifyAnswer(deps.hasher, id, form[`answer${i}`] ?? '', stored);
              right = right && ok && id === expected[i];
            }
            return right;
          })
        : null;
      // Counted by the guard above; audited as effect jobs, like a flow's audit, so the entry is never lost.
      if (checked) await auditAnswers(user.username, checked.ok);
      if (!checked?.ok) {
        const locked = checked?.locked === true;
        deps.logger.info(
          { user: user.username, limited: !allowed, locked },
          'portal: security questions refused',
        );
        const questions = expected.map((id) => ({
          id,
          text: questionText(DEFAULT_QUESTION_CATALOG, id, user.language),
        }));
        const error = locked
          ? 'Too many failed attempts: your account is locked. Try again later.'
          : checked
            ? 'Those answers are not right.'
            : 'Too many tries. Use your phone, or try again later.';
        return sendHtml(
          reply,
          locked ? 423 : 401,
          renderQuestionChallenge(pageBase(request, config.serviceName), { questions, error }),
        );
      }
      await deps.questions.releaseChallenge(user.username);
      const { verify: _v, verifyCode: _c, ...data } = request.portalSession!.data;
      await establishSession(request, reply, { stage: 'verified', data });
      deps.logger.info({ user: user.username }, 'portal: second factor by security questions');
      return reply.redirect('/', 303);
    });

    async function auditAnswers(username: string, right: boolean) {
      await deps.effects.add(`second-factor-${randomUUID()}`, [
        {
          type: 'audit',
          event: right ? 'portal.second-factor' : 'portal.second-factor-refused',
          userId: username,
          data: { via: 'questions' },
        },
      ]);
    }

    app.post('/verify/restart', { preHandler: signedIn }, async (request, reply) => {
      const session = request.portalSession!;
      const { verify: id, verifyCode: _c, ...data } = session.data;
      if (id) await deps.verifications.cancel(id).catch(ignoreClosed);
      session.data = data;
      await saveSession(request);
      return reply.redirect('/verify', 303);
    });
  };
}
