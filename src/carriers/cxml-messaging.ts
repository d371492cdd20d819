import type { CarrierReadiness, MessagingCarrier, OutboundSms, SentSms } from './messaging-port.js';

export interface CxmlMessagingOptions {
  /** e.g. https://example.signalwire.com, or the simulator's /dev/carrier/space. */
  spaceUrl: string;
  projectId: string;
  apiToken: string;
  name?: 'signalwire-cxml' | 'simulator';
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class CarrierError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly carrierCode?: string | number,
  ) {
    super(message);
  }
}

/**
 * Outbound texts through the Compatibility REST API (`Messages.json`, HTTP Basic auth). Inbound texts and
 * status callbacks arrive as signed webhooks, so `start` has nothing to listen to.
 */
export function createCxmlMessaging(options: CxmlMessagingOptions): MessagingCarrier {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.spaceUrl}/api/laml/2010-04-01/Accounts/${encodeURIComponent(options.projectId)}/Messages.json`;
  const auth = `Basic ${Buffer.from(`${options.projectId}:${options.apiToken}`).toString('base64')}`;
  let readiness: CarrierReadiness = { ok: false, detail: 'not started' };
  return {
    name: options.name ?? 'signalwire-cxml',
    async start() {
      readiness = { ok: true, detail: 'ready' };
    },
    async sendSms(sms: OutboundSms): Promise<SentSms> {
      const form = new URLSearchParams({ From: sms.from, To: sms.to, Body: sms.body });
      if (sms.statusCallback) form.set('StatusCallback', sms.statusCallback);
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const payload = (await response.json().catch(() => ({}))) as {
        sid?: string;
        code?: number;
        message?: string;
      };
      if (!response.ok || !payload.sid) {
        throw new CarrierError(
          `carrier refused the message: HTTP ${response.status} ${payload.message ?? ''}`.trim(),
          response.status,
          payload.code,
        );
      }
      return { sid: payload.sid };
    },
    readiness: () => readiness,
    async stop() {
      readiness = { ok: false, detail: 'stopped' };
    },
  };
}
