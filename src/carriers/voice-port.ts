/**
 * The carrier-neutral voice port. A verification call is a short conversation: the engine answers each carrier
 * event with a `VoicePrompt` (what to say, then gather digits or hang up). The cXML webhooks render prompts as
 * cXML; the Relay driver plays them with `promptTTS`/`collect`. Both report the same call events.
 */
export type VoiceLanguage = 'en-US' | 'es-ES';

export interface VoicePrompt {
  /** Which prompt of the call this is: keys answering an older one are ignored (cXML puts it in the gather URL). */
  step?: number;
  /** Sentences to speak, already translated. */
  say: string[];
  language: VoiceLanguage;
  next:
    | {
        kind: 'gather';
        /** '#' ends the entry (PIN and code modes); '' means one key is the whole answer (press-# mode). */
        finishOnKey: '#' | '';
        /** Most keys accepted before the gather ends by itself. */
        maxDigits: number;
        /** Seconds of silence before the gather gives up (then `onDigits(null)`). */
        timeoutSec: number;
      }
    | { kind: 'hangup' };
}

export type CallEndStatus = 'busy' | 'no-answer' | 'failed' | 'canceled' | 'completed';
export type AnsweredBy = 'human' | 'machine' | 'unknown';

/** What both voice adapters call. Each returns (or settles) once the flow has taken the event. */
export interface VoiceSessionHandler {
  /** The call was answered; returns the first prompt. */
  onAnswered(flowId: string, callSid: string, answeredBy: AnsweredBy): Promise<VoicePrompt>;
  /** Keys pressed (without the finishing '#'), or null when the gather timed out with nothing. */
  onDigits(flowId: string, callSid: string, digits: string | null, step?: number): Promise<VoicePrompt>;
  /** The call ended, or never connected. Safe to call more than once and out of order. */
  onEnded(flowId: string, callSid: string, status: CallEndStatus): Promise<void>;
}

export interface OutboundCall {
  flowId: string;
  from: string;
  to: string;
  /** Extension digits to send after connect ('w' = half-second wait), e.g. 'ww1234'. */
  sendDigits?: string;
  ringTimeoutSec: number;
  machineDetection: boolean;
}

export interface VoiceCarrier {
  readonly name: 'simulator' | 'signalwire-cxml' | 'signalwire-relay';
  placeCall(call: OutboundCall): Promise<{ sid: string }>;
  /** Ends a call in progress; a call already over is not an error. */
  hangup(sid: string): Promise<void>;
}
