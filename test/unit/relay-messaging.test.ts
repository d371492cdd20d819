import { describe, expect, it } from 'vitest';
import type { InboundSms, SmsStatusUpdate } from '../../src/carriers/messaging-port.js';
import {
  createRelayMessaging,
  type RelayClientFactory,
  type RelayClientLike,
  type RelayMessageLike,
} from '../../src/carriers/relay-messaging.js';

type ListenOpts = Parameters<RelayClientLike['messaging']['listen']>[0];
type SessionListeners = Parameters<NonNullable<RelayClientLike['listen']>>[0];

const TOKEN = 'PT-super-secret-token';
const OPTS = { project: 'proj-1', token: TOKEN, topics: ['mfa'], connectTimeoutMs: 50 };

function fakeClient(over: { authStatus?: string; sendResult?: unknown; sendError?: unknown } = {}) {
  const calls = {
    send: [] as unknown[],
    listen: [] as ListenOpts[],
    session: [] as SessionListeners[],
    disconnect: 0,
  };
  const client: RelayClientLike = {
    authStatus: over.authStatus ?? 'authorized',
    messaging: {
      async send(params) {
        calls.send.push(params);
        if (over.sendError) throw over.sendError;
        return 'sendResult' in over
          ? over.sendResult
          : { message: 'Message accepted', code: '200', messageId: 'msg-42' };
      },
      async listen(opts) {
        calls.listen.push(opts);
        return async () => {};
      },
    },
    listen(listeners) {
      calls.session.push(listeners);
      return () => {};
    },
    async disconnect() {
      calls.disconnect++;
    },
  };
  return { client, calls };
}

function recordingLogger() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function recordingHandlers() {
  const inbound: InboundSms[] = [];
  const status: SmsStatusUpdate[] = [];
  return {
    inbound,
    status,
    handlers: {
      onInbound: async (sms: InboundSms) => void inbound.push(sms),
      onStatus: async (u: SmsStatusUpdate) => void status.push(u),
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const never = <T>() => new Promise<T>(() => {});
const msg = (over: Partial<RelayMessageLike>): RelayMessageLike => ({
  id: 'msg-1',
  from: '+15550001111',
  to: '+15550002222',
  state: 'received',
  body: 'hello',
  ...over,
});

async function started(over?: Parameters<typeof fakeClient>[0]) {
  const fake = fakeClient(over);
  const log = recordingLogger();
  const rec = recordingHandlers();
  const connects: { project: string; token: string }[] = [];
  const connect: RelayClientFactory = async (o) => {
    connects.push(o);
    return fake.client;
  };
  const carrier = createRelayMessaging(OPTS, { connect, logger: log.logger });
  await carrier.start(rec.handlers);
  const listenOpts = fake.calls.listen[0];
  if (!listenOpts) throw new Error('messaging.listen was not called');
  return { carrier, fake, log, rec, connects, listenOpts };
}

describe('createRelayMessaging', () => {
  it('connects with project and token, listens on the topics and reports ready', async () => {
    const { carrier, fake, connects, listenOpts } = await started();
    expect(carrier.name).toBe('signalwire-relay');
    expect(connects).toEqual([{ project: 'proj-1', token: TOKEN }]);
    expect(fake.calls.listen).toHaveLength(1);
    expect(listenOpts.topics).toEqual(['mfa']);
    expect(carrier.readiness()).toEqual({ ok: true, detail: 'connected' });
  });

  it('sendSms maps the arguments to messaging.send and returns the message id as sid', async () => {
    const { carrier, fake } = await started();
    const sent = await carrier.sendSms({
      from: '+15550001111',
      to: '+15550002222',
      body: 'Your code is 123456',
      statusCallback: 'https://example.test/status',
    });
    expect(sent).toEqual({ sid: 'msg-42' });
    expect(fake.calls.send).toEqual([
      { from: '+15550001111', to: '+15550002222', body: 'Your code is 123456' },
    ]);
  });

  it('sendSms wraps an SDK error object and rejects when no message id comes back', async () => {
    const failing = await started({ sendError: { message: 'Invalid destination', code: '400', errors: {} } });
    await expect(failing.carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(
      'Relay messaging.send failed: 400 Invalid destination',
    );
    const empty = await started({ sendResult: { message: 'ok', code: '200' } });
    await expect(empty.carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(
      /no messageId/,
    );
  });

  it('an inbound message reaches onInbound with mapped fields', async () => {
    const { listenOpts, rec } = await started();
    listenOpts.onMessageReceived(msg({ id: 'in-7', from: '+15557770000', to: '+15558880000', body: 'STOP' }));
    await tick();
    expect(rec.inbound).toEqual([
      { messageSid: 'in-7', from: '+15557770000', to: '+15558880000', body: 'STOP' },
    ]);
    expect(rec.status).toEqual([]);
  });

  it('a message state update reaches onStatus', async () => {
    const { listenOpts, rec } = await started();
    listenOpts.onMessageUpdated(msg({ id: 'out-1', state: 'delivered' }));
    listenOpts.onMessageUpdated(msg({ id: 'out-2', state: 'initiated' }));
    listenOpts.onMessageUpdated(
      msg({ id: 'out-3', state: 'undelivered', reason: 'Unreachable destination' }),
    );
    await tick();
    expect(rec.status).toEqual([
      { messageSid: 'out-1', status: 'delivered' },
      { messageSid: 'out-2', status: 'sending' },
      { messageSid: 'out-3', status: 'undelivered', errorCode: 'Unreachable destination' },
    ]);
    expect(rec.inbound).toEqual([]);
  });

  it('a handler that throws (sync or async) is logged and does not crash', async () => {
    const fake = fakeClient();
    const log = recordingLogger();
    const seen: string[] = [];
    const carrier = createRelayMessaging(OPTS, { connect: async () => fake.client, logger: log.logger });
    await carrier.start({
      onInbound: (sms) => {
        seen.push(sms.messageSid);
        if (sms.messageSid === 'boom-sync') throw new Error('sync handler failure');
        return sms.messageSid === 'boom-async'
          ? Promise.reject(new Error('async failure'))
          : Promise.resolve();
      },
      onStatus: async () => {
        throw new Error('status handler failure');
      },
    });
    const listenOpts = fake.calls.listen[0]!;
    expect(() => listenOpts.onMessageReceived(msg({ id: 'boom-sync' }))).not.toThrow();
    expect(() => listenOpts.onMessageReceived(msg({ id: 'boom-async' }))).not.toThrow();
    expect(() => listenOpts.onMessageUpdated(msg({ id: 'st-1', state: 'failed' }))).not.toThrow();
    listenOpts.onMessageReceived(msg({ id: 'fine' }));
    await tick();
    expect(seen).toEqual(['boom-sync', 'boom-async', 'fine']);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.obj)).toEqual([
      { messageSid: 'boom-sync', err: 'sync handler failure' },
      { messageSid: 'boom-async', err: 'async failure' },
      { messageSid: 'st-1', err: 'status handler failure' },
    ]);
    expect(carrier.readiness()).toEqual({ ok: true, detail: 'connected' });
  });

  it('a connect that never settles makes start() reject within the timeout; a late client is disconnected', async () => {
    let deliver: (c: RelayClientLike) => void = () => {};
    const pending = new Promise<RelayClientLike>((resolve) => {
      deliver = resolve;
    });
    const carrier = createRelayMessaging(OPTS, { connect: () => pending });
    const t0 = Date.now();
    await expect(carrier.start(recordingHandlers().handlers)).rejects.toThrow(/connect timed out after 50ms/);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'connect timed out after 50ms' });
    await expect(carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(/not connected/);

    const late = fakeClient();
    deliver(late.client);
    await tick();
    expect(late.calls.disconnect).toBe(1);
    expect(late.calls.listen).toEqual([]);
    expect(carrier.readiness().ok).toBe(false);
  });

  it('a connect that never settles at all still lets start() reject and stop() return', async () => {
    const carrier = createRelayMessaging(OPTS, { connect: never });
    await expect(carrier.start(recordingHandlers().handlers)).rejects.toThrow('timed out');
    await carrier.stop();
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'stopped' });
  });

  it('an auth failure (the SDK resolves with authStatus unauthorized) is reported and the client closed', async () => {
    const fake = fakeClient({ authStatus: 'unauthorized' });
    const carrier = createRelayMessaging(OPTS, { connect: async () => fake.client });
    await expect(carrier.start(recordingHandlers().handlers)).rejects.toThrow(/authentication failed/);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'authentication failed' });
    expect(fake.calls.disconnect).toBe(1);
    expect(fake.calls.listen).toEqual([]);
    await expect(carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(
      /not connected \(authentication failed\)/,
    );
  });

  it('an AuthError rejected by the connect factory is reported as an auth failure', async () => {
    const authError = Object.assign(new Error('401 Unauthorized'), { name: 'AuthError', code: -32002 });
    const carrier = createRelayMessaging(OPTS, { connect: () => Promise.reject(authError) });
    await expect(carrier.start(recordingHandlers().handlers)).rejects.toThrow(/authentication failed/);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'authentication failed' });
  });

  it('readiness follows session events: reconnecting, connected again, auth error', async () => {
    const { carrier, fake } = await started();
    const session = fake.calls.session[0]!;
    session.onReconnecting?.();
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'reconnecting' });
    session.onConnected?.();
    expect(carrier.readiness()).toEqual({ ok: true, detail: 'connected' });
    session.onAuthError?.();
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'authentication failed' });
  });

  it('readiness is "connecting" while the connect is pending and "not started" before', async () => {
    const carrier = createRelayMessaging(OPTS, { connect: never });
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'not started' });
    const starting = carrier.start(recordingHandlers().handlers);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'connecting' });
    await expect(starting).rejects.toThrow();
  });

  it('sendSms before start rejects with a clear error', async () => {
    const fake = fakeClient();
    const carrier = createRelayMessaging(OPTS, { connect: async () => fake.client });
    await expect(carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(
      'Relay messaging is not connected (not started)',
    );
    expect(fake.calls.send).toEqual([]);
  });

  it('stop disconnects once, is safe to call twice, and sendSms then rejects', async () => {
    const { carrier, fake } = await started();
    await carrier.stop();
    await carrier.stop();
    expect(fake.calls.disconnect).toBe(1);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'stopped' });
    await expect(carrier.sendSms({ from: '+1555', to: '+1666', body: 'x' })).rejects.toThrow(/not connected/);
  });

  it('stop does not hang when the SDK disconnect never resolves', async () => {
    const fake = fakeClient();
    fake.client.disconnect = never;
    const carrier = createRelayMessaging(OPTS, { connect: async () => fake.client });
    await carrier.start(recordingHandlers().handlers);
    const t0 = Date.now();
    await carrier.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('never logs the token', async () => {
    const { carrier, log, listenOpts } = await started();
    listenOpts.onMessageReceived(msg({}));
    await carrier.stop();
    const failing = createRelayMessaging(OPTS, { connect: never, logger: log.logger });
    await expect(failing.start(recordingHandlers().handlers)).rejects.toThrow();
    expect(log.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(log.lines)).not.toContain(TOKEN);
  });
});
