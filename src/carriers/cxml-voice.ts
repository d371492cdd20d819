import { CarrierError } from './cxml-messaging.js';
import type { OutboundCall, VoiceCarrier } from './voice-port.js';

export interface CxmlVoiceOptions {
  /** e.g. https://example.signalwire.com, or the simulator's /dev/carrier/space. */
  spaceUrl: string;
  projectId: string;
  apiToken: string;
  /** The engine's public URL, no trailing slash: the call's webhooks are `${publicUrl}/webhooks/voice...`. */
  publicUrl: string;
  name?: 'signalwire-cxml' | 'simulator';
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
/** Twilio/SignalWire answer this when a call can no longer be updated (it is over). */
const CALL_NOT_UPDATABLE = 21220;

interface CallPayload {
  sid?: string;
  status?: string;
  code?: number;
  message?: string;
}

/**
 * Outbound calls through the Compatibility REST API (`Calls.json`, HTTP Basic auth). The carrier then asks
 * `/webhooks/voice?flow=<id>` what to play and reports progress to `/webhooks/voice/status?flow=<id>`, both
 * signed; `hangup` ends a call through `Calls/<sid>.json`.
 */
export function createCxmlVoice(options: CxmlVoiceOptions): VoiceCarrier {
  const doFetch = options.fetch ?? fetch;
  const base = `${options.spaceUrl}/api/laml/2010-04-01/Accounts/${encodeURIComponent(options.projectId)}/Calls`;
  const auth = `Basic ${Buffer.from(`${options.projectId}:${options.apiToken}`).toString('base64')}`;

  async function post(url: string, form: URLSearchParams, what: string) {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new CarrierError(
        `carrier unreachable (${what}): ${error instanceof Error ? error.message : String(error)}`,
        0,
      );
    }
    const payload = (await response.json().catch(() => ({}))) as CallPayload;
    return { response, payload };
  }

  return {
    name: options.name ?? 'signalwire-cxml',

    async placeCall(call: OutboundCall): Promise<{ sid: string }> {
      const flow = encodeURIComponent(call.flowId);
      const form = new URLSearchParams({
        From: call.from,
        To: call.to,
        Url: `${options.publicUrl}/webhooks/voice?flow=${flow}`,
        Method: 'POST',
        StatusCallback: `${options.publicUrl}/webhooks/voice/status?flow=${flow}`,
        StatusCallbackMethod: 'POST',
      });
      for (const event of STATUS_EVENTS) form.append('StatusCallbackEvent', event);
      form.set('Timeout', String(call.ringTimeoutSec));
      if (call.sendDigits) form.set('SendDigits', call.sendDigits);
      if (call.machineDetection) form.set('MachineDetection', 'Enable');
      const { response, payload } = await post(`${base}.json`, form, 'place call');
      if (!response.ok || !payload.sid) {
        throw new CarrierError(
          `carrier refused the call: HTTP ${response.status} ${payload.message ?? ''}`.trim(),
          response.status,
          payload.code,
        );
      }
      return { sid: payload.sid };
    },

    async hangup(sid: string): Promise<void> {
      const form = new URLSearchParams({ Status: 'completed' });
      const { response, payload } = await post(`${base}/${encodeURIComponent(sid)}.json`, form, 'hang up');
      if (response.ok || response.status === 404 || payload.code === CALL_NOT_UPDATABLE) return;
      throw new CarrierError(
        `carrier refused the hangup: HTTP ${response.status} ${payload.message ?? ''}`.trim(),
        response.status,
        payload.code,
      );
    },
  };
}
