import { UnrecoverableError } from 'bullmq';
import type { SendSmsEffect } from '../../flows/effects.js';
import { translate } from '../../flows/i18n/index.js';
import { CarrierError } from '../carriers/cxml-messaging.js';
import type { MessagingCarrier } from '../carriers/messaging-port.js';
import type { VoiceCarrier } from '../carriers/voice-port.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { DeviceNotifier } from '../devices/device-notifier.js';
import type { ChildFlows } from '../engine/child-flows.js';
import type { FlowEngine } from '../engine/engine.js';
import type { EffectHandlers } from '../engine/workers.js';
import { type Logger, maskPhone } from '../log.js';
import type { Mailer } from '../mail/mailer.js';
import { changeNotice } from '../mail/templates.js';
import type { PortalSessionStore } from '../portal/session-store.js';
import type { QuestionStore } from '../questions/index.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { AuditLog } from '../store/audit-log.js';
import type { SmsDirectory } from '../store/sms-directory.js';
import type { UserStore } from '../store/user-store.js';
import type { User } from '../users/user.js';
import { dispatchDeliveryStatus } from '../verification/delivery-status.js';

const DAY_MS = 24 * 3600 * 1000;

/** What each effect does in the world. Each handler is safe to run again after a crash. */
export function createEffectHandlers(deps: {
  config: Pick<Config, 'publicUrl' | 'signalwire' | 'serviceName'>;
  mailer: Mailer;
  questions: QuestionStore;
  carrier: () => MessagingCarrier;
  voice: () => VoiceCarrier;
  engine: () => FlowEngine;
  children: ChildFlows;
  sessions: Pick<PortalSessionStore, 'endUserSessions'>;
  notifier: () => DeviceNotifier;
  secrets: CodeSecrets;
  sms: SmsDirectory;
  users: UserStore;
  guard: SecretGuard;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** Counts a carrier refusal that the handler settles itself (the job does not fail). */
  onCarrierError?: (type: string, status: number) => void;
}): EffectHandlers {
  const { config, logger } = deps;

  /**
   * A text the carrier refuses for good is not retried (BullMQ's `UnrecoverableError`), and when it carried the
   * flow's code the flow hears it (`SEND_REFUSED`: failed, reason `carrier-refused`) instead of waiting until it
   * expires. Anything else (a 5xx, a timeout) is thrown on for the queue to retry.
   */
  async function refusedText(
    err: unknown,
    effect: SendSmsEffect,
    job: { flowId: string; jobId: string },
  ): Promise<never> {
    if (!(err instanceof CarrierError) || !err.permanent) throw err;
    logger.warn(
      { ...job, status: err.status, carrierCode: err.carrierCode, dest: maskPhone(effect.to) },
      'carrier refused the text for good',
    );
    if (effect.code) {
      await deps
        .engine()
        .dispatch(
          job.flowId,
          { type: 'SEND_REFUSED', at: deps.clock.now() },
          { idempotencyKey: `sms-refused:${job.jobId}` },
        );
    }
    throw new UnrecoverableError(err.message);
  }

  return {
    async sendSms(effect, { flowId, jobId }) {
      const params = { ...effect.params };
      // The code exists only here, for as long as it takes to render the text.
      if (effect.code) params.code = deps.secrets.codeFor(flowId, effect.code.nonce, effect.code.length);
      const body = translate(effect.language, effect.message, params);
      const sent = await deps
        .carrier()
        .sendSms({
          from: config.signalwire.fromNumber,
          to: effect.to,
          body,
          statusCallback: `${config.publicUrl}/webhooks/sms/status`,
        })
        .catch((err: unknown) => refusedText(err, effect, { flowId, jobId }));
      // Only the code text's delivery decides the flow: a failed "wrong answer" text does not.
      if (effect.code) {
        // Statuses the carrier reported before this answer (its callback can be faster) are told now.
        for (const status of await deps.sms.rememberMessage(sent.sid, flowId))
          await dispatchDeliveryStatus(
            { engine: deps.engine(), clock: deps.clock },
            flowId,
            sent.sid,
            status,
          );
      }
      logger.info(
        { flowId, jobId, messageSid: sent.sid, dest: maskPhone(effect.to), message: effect.message },
        'text sent',
      );
    },
    async supersedeOlder(effect, { flowId }) {
      const older = await deps.sms.olderFlows(effect.to, flowId);
      for (const id of older) {
        const result = await deps
          .engine()
          .dispatch(
            id,
            { type: 'SUPERSEDED', at: deps.clock.now(), by: flowId },
            { idempotencyKey: `superseded:${id}` },
          )
          .catch((err: { code?: string }) => {
            if (err.code === 'flow_not_found') return null; // aged out: nothing to end
            throw err;
          });
        if (result?.changed) logger.info({ flowId: id, by: flowId }, 'older verification superseded');
      }
    },
    async notifyDevices(effect, { flowId }) {
      // Never throws: a push service being down must not retry the job; the device long-polls anyway.
      await deps.notifier().notify({
        flowId,
        userId: effect.userId,
        deviceIds: effect.deviceIds,
        expiresAt: effect.expiresAt,
      });
    },
    async placeCall(effect, { flowId, jobId }) {
      try {
        const placed = await deps.voice().placeCall({
          flowId,
          from: config.signalwire.fromNumber,
          to: effect.to,
          ringTimeoutSec: effect.ringTimeoutSec,
          machineDetection: effect.machineDetection,
          ...(effect.sendDigits ? { sendDigits: effect.sendDigits } : {}),
        });
        logger.info({ flowId, jobId, callSid: placed.sid, dest: maskPhone(effect.to) }, 'call placed');
      } catch (err) {
        // A refusal (bad number, no credit) will not get better with retries: the flow fails now.
        if (!(err instanceof CarrierError) || err.status >= 500) throw err;
        logger.warn({ flowId, jobId, status: err.status, err }, 'carrier refused the call');
        deps.onCarrierError?.('placeCall', err.status);
        await deps
          .engine()
          .dispatch(
            flowId,
            { type: 'CALL_ENDED', at: deps.clock.now(), callSid: `refused-${jobId}`, status: 'failed' },
            { idempotencyKey: `voice-refused:${jobId}` },
          );
      }
    },
    async hangupCall(effect, { flowId }) {
      if (!effect.callSid) return;
      await deps.voice().hangup(effect.callSid);
      logger.info({ flowId, callSid: effect.callSid }, 'call hung up');
    },
    async setPin(effect, { flowId }) {
      const updated = await deps.users.update(effect.userId, (user) => ({
        ...user,
        pinHash: effect.pinHash,
        pinMustChange: false,
        updatedAt: deps.clock.now(),
      }));
      logger.info({ flowId, user: effect.userId, stored: updated !== null }, 'PIN changed by phone');
    },
    async updateUser(effect, { flowId, jobId }) {
      const { changes } = effect;
      const apply = (user: User): User => ({
        ...user,
        ...(changes.method ? { method: changes.method } : {}),
        ...(changes.phones ? { phones: withoutNulls({ ...user.phones, ...changes.phones }) } : {}),
        ...(changes.pinHash !== undefined ? { pinHash: changes.pinHash, pinMustChange: false } : {}),
        ...(changes.enrolled ? { enrolledAt: deps.clock.now() } : {}),
        updatedAt: deps.clock.now(),
      });
      if (!effect.expect) {
        const updated = await deps.users.update(effect.userId, apply);
        logger.info(
          { flowId, user: effect.userId, stored: updated !== null, fields: Object.keys(changes) },
          'user settings changed',
        );
        return;
      }
      // Compare-and-set: only while she is as the flow found her; the flow hears which it was.
      const result = await deps.users.updateIf(effect.userId, effect.expect, flowId, apply);
      logger.info(
        { flowId, user: effect.userId, result, fields: Object.keys(changes) },
        'user settings saved',
      );
      await deps
        .engine()
        .dispatch(
          flowId,
          { type: 'SETTINGS_SAVED', ok: result === 'saved' },
          { idempotencyKey: `settings-saved:${jobId}` },
        );
    },
    async storeQuestions(effect, { flowId }) {
      await deps.questions.save(effect.userId, effect.answers);
      logger.info({ flowId, user: effect.userId, count: effect.answers.length }, 'security questions stored');
    },
    async notifyUser(effect, { flowId }) {
      const user = await deps.users.get(effect.userId);
      if (!user?.email) return;
      const mail = changeNotice(user.language, {
        displayName: user.displayName,
        changes: effect.changes,
        at: new Date(deps.clock.now()),
        serviceName: config.serviceName,
      });
      const sent = await deps.mailer.send({ to: user.email, ...mail });
      logger.info(
        { flowId, user: effect.userId, mailId: sent.id, changes: effect.changes },
        'change notice mailed',
      );
    },
    async blockUser(effect) {
      await deps.users.block(effect.userId, deps.clock.now() + effect.days * DAY_MS, effect.reason);
      // A block (a fraud report among them) ends every portal session of the user.
      const ended = await deps.sessions.endUserSessions(effect.userId);
      logger.warn(
        { user: effect.userId, days: effect.days, reason: effect.reason, sessionsEnded: ended },
        'user blocked',
      );
    },
    async endSessions(effect, { flowId }) {
      const ended = await deps.sessions.endUserSessions(effect.userId, effect.except);
      logger.info({ flowId, user: effect.userId, sessionsEnded: ended }, 'other portal sessions ended');
    },
    startChild: (effect) => deps.children.start(effect),
    notifyParent: (effect) => deps.children.notifyParent(effect),
    cancelChild: (effect) => deps.children.cancel(effect),
    async recordOutcome(effect) {
      await deps.guard.recordOutcome(effect.userId, effect.outcome);
    },
    async audit(effect, { flowId }) {
      await deps.audit.append({
        event: effect.event,
        userId: effect.userId,
        flowId,
        ...(effect.data ? { data: effect.data } : {}),
      });
      logger.warn({ audit: effect.event, user: effect.userId, flowId }, 'audit event');
    },
  };
}

/** Phones set to null are removed, so a cleared backup number disappears from the record. */
function withoutNulls<T extends Record<string, string | null | undefined>>(
  phones: T,
): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(phones).filter(([, v]) => typeof v === 'string' && v !== '')) as {
    [K in keyof T]?: string;
  };
}
