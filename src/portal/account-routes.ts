import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { renderHome, renderPinChange } from '../../web/portal/enrollment-pages.js';
import { maskPhone } from '../log.js';
import { newPinProblem } from '../security/new-pin.js';
import { phoneNumbersOf } from '../users/user.js';
import { judgeCurrentPin } from './current-pin.js';
import { sendHtml } from './login.js';
import {
  currentUser,
  formOf,
  type PortalPagesDeps,
  pageBase,
  pinHint,
  pinProblemText,
  verified,
  WizardFlows,
} from './portal-pages.js';
import { saveSession } from './portal-security.js';

/** The home page and self-management: phone, method and questions changes go through the wizard; PIN here. */
export function accountRoutes(deps: PortalPagesDeps): FastifyPluginAsync {
  const { users, config } = deps;
  const wizards = new WizardFlows(deps);
  return async (app) => {
    // ----- home and self-management -----
    app.get('/', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(users, request);
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
        renderHome(pageBase(request, config.serviceName), {
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
        await wizards.start(request, await currentUser(users, request), purpose);
        return reply.redirect('/setup', 303);
      });
    }

    app.get('/manage/pin', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(users, request);
      return sendHtml(
        reply,
        200,
        renderPinChange(pageBase(request, config.serviceName), {
          errors: {},
          askCurrent: !!user.pinHash,
          pinHint: pinHint(config.pin),
        }),
      );
    });

    // A PIN change needs the current PIN (or, for a user without one, the fresh verification of this session).
    // The current PIN is checked through the secret guard: wrong ones count in the user's lockout.
    app.post('/manage/pin', { preHandler: verified }, async (request, reply) => {
      const user = await currentUser(users, request);
      const form = formOf(request);
      const errors: Record<string, string> = {};
      let status = 400;
      if (user.pinHash) {
        const checked = await judgeCurrentPin(deps, user, form.currentPin ?? '');
        if (checked === 'none') errors.currentPin = 'Enter your current PIN.';
        else if (checked === 'locked') {
          status = 423;
          errors.currentPin = 'Too many wrong PINs: your account is locked. Try again later.';
        } else if (checked === 'wrong') errors.currentPin = 'That is not your current PIN.';
      }
      const pin = form.pin ?? '';
      if (!errors.currentPin) {
        const problem = await newPinProblem(pin, config.pin, phoneNumbersOf(user), {
          pinHash: user.pinHash,
          verify: (candidate, hash) => deps.hasher.verify(candidate, hash),
        });
        if (problem) errors.pin = pinProblemText(problem, config.pin);
      }
      if (pin !== (form.pinConfirm ?? '')) errors.pinConfirm = 'The two PINs do not match.';
      if (Object.keys(errors).length > 0) {
        return sendHtml(
          reply,
          status,
          renderPinChange(pageBase(request, config.serviceName), {
            errors,
            askCurrent: !!user.pinHash,
            pinHint: pinHint(config.pin),
          }),
        );
      }
      const pinHash = await deps.hasher.hash(pin);
      await users.update(user.username, (u) => ({
        ...u,
        pinHash,
        pinMustChange: false,
        updatedAt: deps.clock.now(),
      }));
      // What follows the change (audit, notice, the end of her other sessions) are effect jobs: retried until
      // done, never lost to a mail server that is down.
      await deps.effects.add(`pin-change-${randomUUID()}`, [
        { type: 'audit', event: 'portal.change-pin', userId: user.username },
        { type: 'notifyUser', userId: user.username, changes: ['pin'] },
        { type: 'endSessions', userId: user.username, except: request.portalSession!.handle },
      ]);
      deps.logger.info({ user: user.username }, 'PIN changed in the portal');
      request.portalSession!.data = { ...request.portalSession!.data, notice: 'Your PIN was changed.' };
      await saveSession(request);
      return reply.redirect('/', 303);
    });
  };
}
