import { smsOtpFlow } from '../../flows/registry.js';
import { parseSmsReply, type SmsKeyword } from '../../flows/sms-otp/reply-parser.js';
import type { InboundSms, SmsStatusUpdate } from '../carriers/messaging-port.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { DirectEffects } from '../engine/direct-effects.js';
import type { FlowEngine } from '../engine/engine.js';
import { type Logger, maskPhone } from '../log.js';
import { toE164OrNull } from '../phone/phone-number.js';
import type { SmsDirectory } from '../store/sms-directory.js';
import { dispatchDeliveryStatus } from './delivery-status.js';
import type { VerificationService } from './verification-service.js';

/**
 * Routes carrier events (from cXML webhooks or Relay) to flows. Each carrier event has an idempotency key, so
 * a retried webhook changes nothing the second time.
 */
export class SmsInbound {
  constructor(
    private readonly deps: {
      config: Pick<Config, 'serviceName' | 'defaultLanguage'>;
      engine: FlowEngine;
      sms: SmsDirectory;
      verifications: VerificationService;
      /** The keyword answers' way out: effect jobs, retried until the carrier takes them. */
      effects: DirectEffects;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  async onInbound(message: InboundSms): Promise<void> {
    const { logger } = this.deps;
    const from = toE164OrNull(message.from);
    const log = logger.child({ messageSid: message.messageSid });
    if (!from) {
      log.info('text from an unparseable number ignored');
      return;
    }
    const idempotencyKey = `sms-in:${message.messageSid}`;
    const parsed = parseSmsReply(message.body);
    if (parsed.kind === 'keyword') {
      await this.onKeyword(from, parsed.keyword, message.messageSid);
      return;
    }
    const flowId = await this.deps.sms.flowForReply(from);
    if (!flowId) {
      log.info({ sender: maskPhone(from) }, 'text from a number with no active verification ignored');
      return;
    }
    const flow = await this.deps.engine.get(flowId);
    const reply = await this.deps.verifications.replyFacts(flow, parsed);
    const result = await this.deps.engine.dispatch(
      flowId,
      { type: 'REPLY', at: this.deps.clock.now(), reply },
      { idempotencyKey, loaded: flow },
    );
    log.info({ flowId, status: result.flow.status, duplicate: result.duplicate }, 'text reply handled');
  }

  /** A status before the text's id is known (the callback beat the REST answer) waits for `sendSms` to take it. */
  async onStatus(update: SmsStatusUpdate): Promise<void> {
    const flowId = await this.deps.sms.flowForStatus(update.messageSid, update.status);
    if (!flowId) return;
    await dispatchDeliveryStatus(this.deps, flowId, update.messageSid, update.status);
  }

  /**
   * Every step is safe to repeat, and the answer is an effect job whose id is the message's: a webhook the carrier
   * retries (because a step failed) redoes the steps and adds no second answer, and an answer the carrier refuses
   * at first is retried by the effects queue. Nothing here sends inside the request.
   */
  private async onKeyword(from: string, keyword: SmsKeyword, messageSid: string): Promise<void> {
    const { sms, config } = this.deps;
    if (keyword === 'stop') {
      await sms.optOut(from);
      const flowId = await sms.flowForReply(from);
      if (flowId) {
        const flow = await this.deps.engine.get(flowId);
        if (flow.machine === smsOtpFlow.id) {
          await this.deps.engine.dispatch(
            flowId,
            { type: 'OPTED_OUT', at: this.deps.clock.now() },
            { idempotencyKey: `sms-in:${messageSid}` },
          );
        }
      }
    } else if (keyword === 'start') {
      await sms.optIn(from);
    }
    await this.deps.effects.add(`keyword-${messageSid}`, [
      {
        type: 'sendSms',
        to: from,
        language: config.defaultLanguage,
        message: `sms.${keyword}`,
        params: { service: config.serviceName },
      },
    ]);
  }
}
