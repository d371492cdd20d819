// One SignalWire Relay (@signalwire/realtime-api v4) websocket, shared by the Relay messaging and voice adapters:
// connect with a timeout, detect refused credentials, follow the session events, disconnect without hanging.
import type { CarrierReadiness } from './messaging-port.js';

export type RelayLogger = Record<'info' | 'warn' | 'error', (o: object, m?: string) => void>;
export const noopLogger: RelayLogger = { info() {}, warn() {}, error() {} };

export type RelaySessionEvent = 'onConnected' | 'onDisconnected' | 'onReconnecting' | 'onAuthError';

/** The session part of the SDK's `SWClient` (what every adapter's client type extends). */
export interface RelaySessionClient {
  /** The SDK resolves even when the credentials are refused; it then reports 'unauthorized' here. */
  readonly authStatus?: string;
  listen?(listeners: Partial<Record<RelaySessionEvent, () => void>>): unknown;
  disconnect(): unknown;
}

export const TIMED_OUT = Symbol('timed out');

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// The SDK rejects with plain `{ message, code }` objects, not Errors.
export function describeRelayError(err: unknown): string {
  if (err instanceof Error) return err.message;
  const o = err as { code?: unknown; message?: unknown } | null;
  return o?.message === undefined ? String(err) : `${o.code ?? ''} ${String(o.message)}`.trim();
}

/** A start failure whose message is the readiness detail. */
export class RelayStartFailure extends Error {}

function failureDetail(err: unknown): string {
  if (err instanceof RelayStartFailure) return err.message;
  if (err instanceof Error && err.name === 'AuthError') return 'authentication failed';
  return `connect failed: ${describeRelayError(err)}`;
}

export interface RelayConnectionOptions<C extends RelaySessionClient> {
  /** Names the logs ('relay voice connecting') and the errors ('Relay voice start failed: ...'). */
  kind: string;
  project: string;
  token: string;
  connectTimeoutMs: number;
  connect: (opts: { project: string; token: string }) => Promise<C>;
  logger: RelayLogger;
  /** Extra fields for the 'connecting' and 'connected' log lines (never secrets). */
  logFields?: Record<string, unknown>;
  /** The session ended for good ('disconnected'): the client is gone. */
  onLost?: (detail: string) => void;
}

export interface RelayConnection<C extends RelaySessionClient> {
  /**
   * Connects (within `connectTimeoutMs`, `setup` included), or rejects with `Relay <kind> start failed: <detail>`.
   * `setup` runs once the client is authenticated; throw a `RelayStartFailure` for a precise readiness detail.
   */
  start(setup?: (client: C) => Promise<void>): Promise<C>;
  /** The connected client, if any. */
  current(): C | undefined;
  readiness(): CarrierReadiness;
  /** Disconnects (bounded by the timeout); safe twice, and abandons a start in progress. */
  stop(): Promise<void>;
}

export function createRelayConnection<C extends RelaySessionClient>(
  opts: RelayConnectionOptions<C>,
): RelayConnection<C> {
  const { kind, logger: log } = opts;
  const ms = opts.connectTimeoutMs;
  const fields = opts.logFields ?? {};
  let client: C | undefined;
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

  async function close(c: C, why: string): Promise<void> {
    try {
      // SWClient.disconnect() waits for 'session.disconnected', which may never come.
      if ((await withTimeout(Promise.resolve(c.disconnect()), ms)) === TIMED_OUT) {
        log.warn({ why, timeoutMs: ms }, 'relay disconnect timed out');
      }
    } catch (err) {
      log.warn({ why, err: describeRelayError(err) }, 'relay disconnect failed');
    }
  }

  async function open(my: number, got: { client?: C }, setup?: (client: C) => Promise<void>) {
    const c = await opts.connect({ project: opts.project, token: opts.token });
    if (my !== attempt) {
      await close(c, 'client arrived after the start was abandoned');
      throw new RelayStartFailure('abandoned (stopped or timed out) before the client arrived');
    }
    got.client = c;
    if (c.authStatus === 'unauthorized') throw new RelayStartFailure('authentication failed');
    c.listen?.({
      onConnected: () => client === c && set(true, 'connected'),
      onReconnecting: () => client === c && set(false, 'reconnecting'),
      onAuthError: () => client === c && set(false, 'authentication failed'),
      onDisconnected: () => {
        if (client !== c) return;
        drop('disconnected');
        opts.onLost?.('disconnected');
      },
    });
    if (setup) await setup(c);
    return c;
  }

  return {
    async start(setup) {
      if (client || starting) throw new Error(`Relay ${kind} is already started`);
      starting = true;
      const my = ++attempt;
      set(false, 'connecting');
      log.info({ project: opts.project, ...fields, timeoutMs: ms }, `relay ${kind} connecting`);
      const got: { client?: C } = {};
      try {
        const c = await withTimeout(open(my, got, setup), ms);
        // The SDK never settles when the service is unreachable: give up; open() closes a late client.
        if (c === TIMED_OUT) throw new RelayStartFailure(`connect timed out after ${ms}ms`);
        if (my !== attempt) throw new RelayStartFailure('stopped while connecting');
        client = c;
        set(true, 'connected');
        log.info({ ...fields }, `relay ${kind} connected`);
        return c;
      } catch (err) {
        const detail = failureDetail(err);
        if (my === attempt) set(false, detail); // else stop() ran meanwhile: keep 'stopped'
        attempt++; // abandons this attempt: open() closes a client that arrives later
        log.error({ detail }, `relay ${kind} start failed`);
        if (got.client) await close(got.client, detail);
        throw new Error(`Relay ${kind} start failed: ${detail}`, { cause: err });
      } finally {
        starting = false;
      }
    },
    current: () => client,
    readiness: () => ({ ...state }),
    async stop() {
      attempt++;
      const c = drop('stopped');
      if (c) await close(c, 'stop');
    },
  };
}
