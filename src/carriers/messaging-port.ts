/**
 * The carrier-neutral messaging port. Adapters (SignalWire cXML, SignalWire Relay, the simulator) implement it;
 * the engine's effect workers call `sendSms`, and inbound texts reach `InboundSmsHandler` whichever way they
 * arrive (signed cXML webhook or Relay `messaging.listen`).
 */
export interface OutboundSms {
  /** E.164 sender (the service number). */
  from: string;
  /** E.164 destination. */
  to: string;
  body: string;
  /** Absolute URL for delivery status callbacks (cXML only; Relay reports through the SDK). */
  statusCallback?: string;
}

export interface SentSms {
  /** The carrier's message id (MessageSid). */
  sid: string;
}

export interface InboundSms {
  messageSid: string;
  from: string;
  to: string;
  body: string;
}

export interface SmsStatusUpdate {
  messageSid: string;
  /** queued | sending | sent | delivered | undelivered | failed | received */
  status: string;
  errorCode?: string;
}

export type InboundSmsHandler = (sms: InboundSms) => Promise<void>;
export type SmsStatusHandler = (update: SmsStatusUpdate) => Promise<void>;

export interface CarrierReadiness {
  ok: boolean;
  detail: string;
}

export interface MessagingCarrier {
  readonly name: 'simulator' | 'signalwire-cxml' | 'signalwire-relay';
  /** Connects (with a timeout) and starts listening for inbound texts when the adapter listens itself. */
  start(handlers: { onInbound: InboundSmsHandler; onStatus: SmsStatusHandler }): Promise<void>;
  sendSms(sms: OutboundSms): Promise<SentSms>;
  readiness(): CarrierReadiness;
  stop(): Promise<void>;
}
