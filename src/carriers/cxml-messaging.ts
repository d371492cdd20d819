import { type CxmlRestOptions, cxmlRestClient, refusal } from './cxml-rest.js';
import type { CarrierReadiness, MessagingCarrier, OutboundSms, SentSms } from './messaging-port.js';

export { CarrierError } from './cxml-rest.js';

export interface CxmlMessagingOptions extends CxmlRestOptions {
  name?: 'signalwire-cxml' | 'simulator';
}

/**
 * Outbound texts through the Compatibility REST API (`Messages.json`, HTTP Basic auth). Inbound texts and
 * status callbacks arrive as signed webhooks, so `start` has nothing to listen to.
 */
export function createCxmlMessaging(options: CxmlMessagingOptions): MessagingCarrier {
  const rest = cxmlRestClient(options);
  let readiness: CarrierReadiness = { ok: false, detail: 'not started' };
  return {
    name: options.name ?? 'signalwire-cxml',
    async start() {
      readiness = { ok: true, detail: 'ready' };
    },
    async sendSms(sms: OutboundSms): Promise<SentSms> {
      const form = new URLSearchParams({ From: sms.from, To: sms.to, Body: sms.body });
      if (sms.statusCallback) form.set('StatusCallback', sms.statusCallback);
      const answer = await rest.post('/Messages.json', form);
      const { sid } = answer.payload;
      if (!answer.response.ok || !sid) throw refusal('message', answer);
      return { sid };
    },
    readiness: () => readiness,
    async stop() {
      readiness = { ok: false, detail: 'stopped' };
    },
  };
}
