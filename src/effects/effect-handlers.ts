import type { Redis } from 'ioredis';
import { translate } from '../../flows/i18n/index.js';
import type { MessagingCarrier } from '../carriers/messaging-port.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { Keys } from '../engine/keys.js';
import type { EffectHandlers } from '../engine/workers.js';
import { type Logger, maskPhone } from '../log.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { SmsDirectory } from '../store/sms-directory.js';
import type { UserStore } from '../store/user-store.js';

const DAY_MS = 24 * 3600 * 1000;

/** What each effect does in the world. Each handler is safe to run again after a crash. */
export function createEffectHandlers(deps: {
  config: Pick<Config, 'publicUrl' | 'signalwire' | 'lockout'>;
  carrier: () => MessagingCarrier;
  secrets: CodeSecrets;
  sms: SmsDirectory;
  users: UserStore;
  redis: Redis;
  keys: Keys;
  clock: Clock;
  logger: Logger;
}): EffectHandlers {
  const { config, logger } = deps;
  return {
    async sendSms(effect, { flowId, jobId }) {
      const params = { ...effect.params };
      // The code exists only here, for as long as it takes to render the text.
      if (effect.code) params.code = deps.secrets.codeFor(flowId, effect.code.nonce, effect.code.length);
      const body = translate(effect.language, effect.message, params);
      const sent = await deps.carrier().sendSms({
        from: config.signalwire.fromNumber,
        to: effect.to,
        body,
        statusCallback: `${config.publicUrl}/webhooks/sms/status`,
      });
      // Only the code text's delivery decides the flow: a failed "wrong answer" text does not.
      if (effect.code) await deps.sms.rememberMessage(sent.sid, flowId);
      logger.info(
        { flowId, jobId, messageSid: sent.sid, dest: maskPhone(effect.to), message: effect.message },
        'text sent',
      );
    },
    async blockUser(effect) {
      await deps.users.block(effect.userId, deps.clock.now() + effect.days * DAY_MS, effect.reason);
      logger.warn({ user: effect.userId, days: effect.days, reason: effect.reason }, 'user blocked');
    },
    async recordOutcome(effect) {
      await deps.users.recordOutcome(effect.userId, effect.outcome, {
        threshold: config.lockout.threshold,
        lockUntil: deps.clock.now() + config.lockout.minutes * 60_000,
      });
    },
    async audit(effect, { flowId }) {
      const entry = JSON.stringify({ ...effect, flowId, at: deps.clock.now() });
      await deps.redis.xadd(deps.keys.audit(), 'MAXLEN', '~', '100000', '*', 'entry', entry);
      logger.warn({ audit: effect.event, user: effect.userId, flowId }, 'audit event');
    },
  };
}
