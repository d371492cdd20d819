// SignalWire Relay (@signalwire/realtime-api v4) messaging: one websocket sends texts and hears inbound/status.
import type { MessagingCarrier, OutboundSms, SentSms } from './messaging-port.js';
import {
  createRelayConnection,
  describeRelayError as describe,
  noopLogger,
  type RelayLogger,
  type RelaySessionClient,
  RelayStartFailure,
} from './relay-connection.js';

export interface RelayMessagingOptions {
  project: string;
  token: string;
  topics: string[];
  connectTimeoutMs: number;
}

/** The fields of the SDK's `Message` this adapter reads. */
export type RelayMessageLike = Record<'id' | 'from' | 'to' | 'state', string> & {
  body?: string;
  reason?: string;
};

/** The part of the SDK's `SWClient` this adapter uses, so tests can pass a fake. */
export interface RelayClientLike extends RelaySessionClient {
  messaging: {
    send(params: { from: string; to: string; body: string }): Promise<unknown>;
    listen(opts: {
      topics: string[];
      onMessageReceived(message: RelayMessageLike): unknown;
      onMessageUpdated(message: RelayMessageLike): unknown;
    }): Promise<unknown>;
  };
}

export type RelayClientFactory = (opts: { project: string; token: string }) => Promise<RelayClientLike>;

// Imported lazily so the simulator and the unit tests never load the SDK.
const sdkConnect: RelayClientFactory = async ({ project, token }) => {
  const { SignalWire } = await import('@signalwire/realtime-api');
  return SignalWire({ project, token });
};

// Relay says 'initiated' where the port (and cXML) say 'sending'.
const STATUS_MAP: Record<string, string> = { initiated: 'sending' };

type Handlers = Parameters<MessagingCarrier['start']>[0];

export function createRelayMessaging(
  opts: RelayMessagingOptions,
  deps: { connect?: RelayClientFactory; logger?: RelayLogger } = {},
): MessagingCarrier {
  const log = deps.logger ?? noopLogger;
  const conn = createRelayConnection<RelayClientLike>({
    kind: 'messaging',
    project: opts.project,
    token: opts.token,
    connectTimeoutMs: opts.connectTimeoutMs,
    connect: deps.connect ?? sdkConnect,
    logger: log,
    logFields: { topics: opts.topics },
  });

  // Handler errors must not reach the SDK's emitter: there they would be unhandled rejections.
  function dispatch(kind: string, messageSid: string, run: () => Promise<void>): void {
    Promise.resolve()
      .then(run)
      .catch((err) => log.error({ messageSid, err: describe(err) }, `relay ${kind} handler failed`));
  }

  async function listen(c: RelayClientLike, handlers: Handlers): Promise<void> {
    await c.messaging
      .listen({
        topics: opts.topics,
        onMessageReceived: (m) =>
          dispatch('inbound', m.id, () =>
            handlers.onInbound({ messageSid: m.id, from: m.from, to: m.to, body: m.body ?? '' }),
          ),
        onMessageUpdated: (m) =>
          dispatch('status', m.id, () =>
            handlers.onStatus({
              messageSid: m.id,
              status: STATUS_MAP[m.state] ?? m.state,
              // Relay gives a reason text, not a numeric code; it is the only failure detail there is.
              ...(m.reason ? { errorCode: m.reason } : {}),
            }),
          ),
      })
      .catch((err: unknown) => {
        throw new RelayStartFailure(`listen failed: ${describe(err)}`);
      });
  }

  return {
    name: 'signalwire-relay',
    async start(handlers) {
      await conn.start((c) => listen(c, handlers));
    },
    async sendSms(sms: OutboundSms): Promise<SentSms> {
      const c = conn.current();
      if (!c) throw new Error(`Relay messaging is not connected (${conn.readiness().detail})`);
      const res = await c.messaging
        .send({ from: sms.from, to: sms.to, body: sms.body })
        .catch((err: unknown) => {
          throw new Error(`Relay messaging.send failed: ${describe(err)}`, { cause: err });
        });
      // The SDK camel-cases the RPC result: { message, code, messageId }.
      const sid = (res as { messageId?: unknown } | undefined)?.messageId;
      if (typeof sid !== 'string' || !sid) throw new Error('Relay messaging.send returned no messageId');
      return { sid };
    },
    readiness: () => conn.readiness(),
    stop: () => conn.stop(),
  };
}
