import { CarrierError, type CxmlRestOptions, cxmlRestClient, refusal } from './cxml-rest.js';
import type { OutboundCall, VoiceCarrier } from './voice-port.js';

export interface CxmlVoiceOptions extends CxmlRestOptions {
  /** The engine's public URL, no trailing slash: the call's webhooks are `${publicUrl}/webhooks/voice...`. */
  publicUrl: string;
  name?: 'signalwire-cxml' | 'simulator';
}

const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
/** Twilio/SignalWire answer this when a call can no longer be updated (it is over). */
const CALL_NOT_UPDATABLE = 21220;

/**
 * Outbound calls through the Compatibility REST API (`Calls.json`, HTTP Basic auth). The carrier then asks
 * `/webhooks/voice?flow=<id>` what to play and reports progress to `/webhooks/voice/status?flow=<id>`, both
 * signed; `hangup` ends a call through `Calls/<sid>.json`.
 */
export function createCxmlVoice(options: CxmlVoiceOptions): VoiceCarrier {
  const rest = cxmlRestClient(options);

  /** A POST under `Calls`; a call that gets no answer is a CarrierError with status 0. */
  async function post(path: string, form: URLSearchParams, what: string) {
    try {
      return await rest.post(`/Calls${path}`, form);
    } catch (error) {
      throw new CarrierError(
        `carrier unreachable (${what}): ${error instanceof Error ? error.message : String(error)}`,
        0,
      );
    }
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
      const answer = await post('.json', form, 'place call');
      const { sid } = answer.payload;
      if (!answer.response.ok || !sid) throw refusal('call', answer);
      return { sid };
    },

    async hangup(sid: string): Promise<void> {
      const form = new URLSearchParams({ Status: 'completed' });
      const answer = await post(`/${encodeURIComponent(sid)}.json`, form, 'hang up');
      const { response, payload } = answer;
      if (response.ok || response.status === 404 || payload.code === CALL_NOT_UPDATABLE) return;
      throw refusal('hangup', answer);
    },
  };
}
