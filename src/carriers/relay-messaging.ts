// SignalWire Relay (@signalwire/realtime-api v4) messaging: one websocket sends texts and hears inbound/status.
import type { CarrierReadiness, MessagingCarrier, OutboundSms, SentSms } from './messaging-port.js';

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

type SessionEvent = 'onConnected' | 'onDisconnected' | 'onReconnecting' | 'onAuthError';

/** The part of the SDK's `SWClient` this adapter uses, so tests can pass a fake. */
export interface RelayClientLike {
  /** The SDK resolves even when the credentials are refused; it then reports 'unauthorized' here. */
  readonly authStatus?: string;
  messaging: {
    send(params: { from: string; to: string; body: string }): Promise<unknown>;
    listen(opts: {
      topics: string[];
      onMessageReceived(message: RelayMessageLike): unknown;
      onMessageUpdated(message: RelayMessageLike): unknown;
    }): Promise<unknown>;
  };
  listen?(listeners: Partial<Record<SessionEvent, () => void>>): unknown;
  disconnect(): unknown;
}

export type RelayClientFactory = (opts: { project: string; token: string }) => Promise<RelayClientLike>;

type Logger = Record<'info' | 'warn' | 'error', (o: object, m?: string) => void>;
const noopLogger: Logger = { info() {}, warn() {}, error() {} };

// Imported lazily so the simulator and the unit tests never load the SDK.
const sdkConnect: RelayClientFactory = async ({ project, token }) => {
  const { SignalWire } = await import('@signalwire/realtime-api');
  return SignalWire({ project, token });
};

// Relay says 'initiated' where the port (and cXML) say 'sending'.
const STATUS_MAP: Record<string, string> = { initiated: 'sending' };
const TIMED_OUT = Symbol('timed out');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// The SDK rejects with plain `{ message, code }` objects, not Errors.
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const o = err as { code?: unknown; message?: unknown } | null;
  return o?.message === undefined ? String(err) : `${o.code ?? ''} ${String(o.message)}`.trim();
}

/** A start failure whose message is the readiness detail. */
class StartFailure extends Error {}
type Handlers = Parameters<MessagingCarrier['start']>[0];

function failureDetail(err: unknown): string {
  if (err instanceof StartFailure) return err.message;
  if (err instanceof Error && err.name === 'AuthError') return 'authentication failed';
  return `connect failed: ${describe(err)}`;
}

export function createRelayMessaging(
  opts: RelayMessagingOptions,
  deps: { connect?: RelayClientFactory; logger?: Logger } = {},
): MessagingCarrier {
  const connect = deps.connect ?? sdkConnect;
  const log = deps.logger ?? noopLogger;
  const ms = opts.connectTimeoutMs;
  let client: RelayClientLike | undefined;
  let starting = false;
  let state: CarrierReadiness = { ok: false, detail: 'not started' };
  // Bumped by stop() and by a failed start, so a client arriving for an abandoned attempt gets closed.
  let attempt = 0;
  const set = (ok: boolean, detail: string) => {
    state = { ok, detail };
  };
  const drop = (detail: string) => {
    const c = client;
    [client, state] = [undefined, { ok: false, detail }];
    return c;
  };

  async function close(c: RelayClientLike, why: string): Promise<void> {
    try {
      // SWClient.disconnect() waits for 'session.disconnected', which may never come.
      if ((await withTimeout(Promise.resolve(c.disconnect()), ms)) === TIMED_OUT) {
        log.warn({ why, timeoutMs: ms }, 'relay disconnect timed out');
      }
    } catch (err) {
      log.warn({ why, err: describe(err) }, 'relay disconnect failed');
    }
  }

  // Handler errors must not reach the SDK's emitter: there they would be unhandled rejections.
  function dispatch(kind: string, messageSid: string, run: () => Promise<void>): void {
    Promise.resolve()
      .then(run)
      .catch((err) => log.error({ messageSid, err: describe(err) }, `relay ${kind} handler failed`));
  }

  async function open(my: number, handlers: Handlers, got: { client?: RelayClientLike }) {
    const c = await connect({ project: opts.project, token: opts.token });
    if (my !== attempt) {
      await close(c, 'client arrived after the start was abandoned');
      throw new StartFailure('abandoned (stopped or timed out) before the client arrived');
    }
    got.client = c;
    if (c.authStatus === 'unauthorized') throw new StartFailure('authentication failed');
    c.listen?.({
      onConnected: () => client === c && set(true, 'connected'),
      onReconnecting: () => client === c && set(false, 'reconnecting'),
      onAuthError: () => client === c && set(false, 'authentication failed'),
      onDisconnected: () => client === c && drop('disconnected'),
    });
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
        throw new StartFailure(`listen failed: ${describe(err)}`);
      });
    return c;
  }

  return {
    name: 'signalwire-relay',
    async start(handlers) {
      if (client || starting) throw new Error('Relay messaging is already started');
      starting = true;
      const my = ++attempt;
      set(false, 'connecting');
      log.info({ project: opts.project, topics: opts.topics, timeoutMs: ms }, 'relay messaging connecting');
      const got: { client?: RelayClientLike } = {};
      try {
        const c = await withTimeout(open(my, handlers, got), ms);
        // The SDK never settles when the service is unreachable: give up; open() closes a late client.
        if (c === TIMED_OUT) throw new StartFailure(`connect timed out after ${ms}ms`);
        if (my !== attempt) throw new StartFailure('stopped while connecting');
        client = c;
        set(true, 'connected');
        log.info({ topics: opts.topics }, 'relay messaging connected');
      } catch (err) {
        const detail = failureDetail(err);
        if (my === attempt) set(false, detail); // else stop() ran meanwhile: keep 'stopped'
        attempt++; // abandons this attempt: open() closes a client that arrives later
        log.error({ detail }, 'relay messaging start failed');
        if (got.client) await close(got.client, detail);
        throw new Error(`Relay messaging start failed: ${detail}`, { cause: err });
      } finally {
        starting = false;
      }
    },
    async sendSms(sms: OutboundSms): Promise<SentSms> {
      const c = client;
      if (!c) throw new Error(`Relay messaging is not connected (${state.detail})`);
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
    readiness: () => ({ ...state }),
    async stop() {
      attempt++;
      const c = drop('stopped');
      if (c) await close(c, 'stop');
    },
  };
}
