import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarrierError } from '../../src/carriers/cxml-messaging.js';
import { createCxmlVoice } from '../../src/carriers/cxml-voice.js';
import {
  SimulatorCallCenter,
  simulatorCallRoutes,
} from '../../src/carriers/simulator/simulator-call-routes.js';
import { type SimulatedCallView, SimulatorCallStore } from '../../src/carriers/simulator/simulator-calls.js';
import { simulatorRoutes } from '../../src/carriers/simulator/simulator-routes.js';
import { SimulatorStore } from '../../src/carriers/simulator/simulator-store.js';
import type { OutboundCall, VoiceCarrier } from '../../src/carriers/voice-port.js';
import { ManualClock } from '../../src/clock.js';
import { Keys } from '../../src/engine/keys.js';
import { createLogger } from '../../src/log.js';
import { findFreePort, LOOPBACK } from '../../src/redis/redis-process.js';
import { isValidSignature } from '../../src/security/webhook-signature.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const SIGNING_KEY = 'simulator-calls-signing-key-0123456789';
const PROJECT = 'simulator-project';
const TOKEN = 'simulator-calls-token';
const SERVICE = '+12025550100';
const CALL_SID = /^CA[0-9a-f]{32}$/;

let redisServer: RedisServerHandle;
let redis: Redis;
let app: FastifyInstance;
let publicUrl: string;
let voice: VoiceCarrier;
let center: SimulatorCallCenter;
const clock = new ManualClock(Date.now());

let handsetSeq = 300;
const nextHandset = () => `+1202555${String(handsetSeq++).padStart(4, '0')}`;
let flowSeq = 0;
const nextFlow = () => `flow-${++flowSeq}`;

/** Every request the fake engine received. */
interface Hit {
  path: string;
  query: Record<string, string>;
  params: Record<string, string>;
  valid: boolean;
}
const hits: Hit[] = [];

const PROMPT = 'Please enter your PIN, then press pound.';

function gatherPrompt(flow: string, before = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  ${before}
  <Gather action="/webhooks/voice/gather?flow=${flow}" method="POST" finishOnKey="#" timeout="5">
    <Say language="en-US">${PROMPT}</Say>
  </Gather>
  <Redirect method="POST">/webhooks/voice/gather?flow=${flow}&amp;silence=1</Redirect>
</Response>`;
}

/** A tiny engine: checks every signature, asks for a PIN, accepts 1234, re-prompts otherwise. */
const fakeEngine: FastifyPluginAsync = async (scope) => {
  const record = (request: {
    url: string;
    body: unknown;
    query: unknown;
    headers: Record<string, unknown>;
  }): Hit => {
    const params = (request.body ?? {}) as Record<string, string>;
    const header = request.headers['x-signalwire-signature'];
    const hit: Hit = {
      path: request.url.split('?')[0] ?? '',
      query: request.query as Record<string, string>,
      params,
      valid: isValidSignature(
        SIGNING_KEY,
        `${publicUrl}${request.url}`,
        params,
        typeof header === 'string' ? header : undefined,
      ),
    };
    hits.push(hit);
    return hit;
  };
  scope.post('/webhooks/voice', async (request, reply) => {
    const hit = record(request);
    if (!hit.valid) return reply.code(403).send();
    return reply.type('text/xml').send(gatherPrompt(hit.query.flow ?? ''));
  });
  scope.post('/webhooks/voice/gather', async (request, reply) => {
    const hit = record(request);
    if (!hit.valid) return reply.code(403).send();
    const flow = hit.query.flow ?? '';
    const digits = hit.params.Digits;
    if (digits === '1234') {
      return reply
        .type('text/xml')
        .send('<Response><Say language="en-US">Thank you. You are verified.</Say><Hangup/></Response>');
    }
    if (digits === undefined)
      return reply.type('text/xml').send(gatherPrompt(flow, '<Say>We did not hear anything.</Say>'));
    return reply.type('text/xml').send(gatherPrompt(flow, '<Say>That PIN is not right.</Say>'));
  });
  scope.post('/webhooks/voice/loop', async (request, reply) => {
    record(request);
    return reply.type('text/xml').send('<Response><Redirect>/webhooks/voice/loop</Redirect></Response>');
  });
  scope.post('/webhooks/voice/status', async (request, reply) => {
    const hit = record(request);
    return reply.code(hit.valid ? 204 : 403).send();
  });
};

beforeAll(async () => {
  redisServer = await startRedisServer({ appendOnly: false });
  redis = new Redis(redisServer.url);
  const port = await findFreePort();
  publicUrl = `http://${LOOPBACK}:${port}`;
  const logger = createLogger('silent');
  const keys = new Keys('sim-calls-test');
  const common = {
    signingKey: SIGNING_KEY,
    publicUrl,
    projectId: PROJECT,
    apiToken: TOKEN,
    serviceNumber: SERVICE,
    clock,
    logger,
  };
  center = new SimulatorCallCenter({ ...common, callStore: new SimulatorCallStore(redis, keys) });
  app = Fastify();
  await app.register(formbody);
  await app.register(
    simulatorCallRoutes({ ...common, callStore: new SimulatorCallStore(redis, keys), center }),
  );
  await app.register(simulatorRoutes({ ...common, store: new SimulatorStore(redis, keys), calls: center }));
  await app.register(fakeEngine);
  await app.listen({ host: LOOPBACK, port });
  voice = createCxmlVoice({
    name: 'simulator',
    spaceUrl: `${publicUrl}/dev/carrier/space`,
    projectId: PROJECT,
    apiToken: TOKEN,
    publicUrl,
  });
});

afterAll(async () => {
  await app?.close();
  await redis?.quit();
  await redisServer?.stop();
});

async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function callbacks(sid: string): Hit[] {
  return hits.filter((hit) => hit.path === '/webhooks/voice/status' && hit.params.CallSid === sid);
}

function webhooks(sid: string, path: string): Hit[] {
  return hits.filter((hit) => hit.path === path && hit.params.CallSid === sid);
}

function waitForCallbacks(sid: string, count: number): Promise<Hit[]> {
  return eventually(() => {
    const found = callbacks(sid);
    return found.length >= count ? found : undefined;
  }, `${count} status callback(s) of ${sid}`);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies field by field
async function control(sid: string, action: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${publicUrl}/dev/carrier/calls/${sid}/${action}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function callsTo(to: string): Promise<SimulatedCallView[]> {
  const response = await fetch(`${publicUrl}/dev/carrier/calls?to=${encodeURIComponent(to)}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { calls: SimulatedCallView[] }).calls;
}

async function place(overrides: Partial<OutboundCall> = {}) {
  const call: OutboundCall = {
    flowId: nextFlow(),
    from: SERVICE,
    to: nextHandset(),
    ringTimeoutSec: 30,
    machineDetection: false,
    ...overrides,
  };
  const { sid } = await voice.placeCall(call);
  expect(sid).toMatch(CALL_SID);
  return { sid, ...call };
}

/** A call placed, ringing, answered and waiting for the PIN. */
async function answered(overrides: Partial<OutboundCall> = {}) {
  const call = await place(overrides);
  await waitForCallbacks(call.sid, 2);
  const answer = await control(call.sid, 'answer');
  expect(answer.status).toBe(200);
  expect(answer.body.call).toMatchObject({ status: 'in-progress', gathering: true });
  return call;
}

function statuses(list: Hit[]): string[] {
  return list.map((hit) => hit.params.CallStatus ?? '');
}

describe('createCxmlVoice', () => {
  it('posts the call form the carrier expects, with Basic auth', async () => {
    const requests: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
      requests.push({ url: String(url), init: init ?? {} });
      return new Response(JSON.stringify({ sid: `CA${'a'.repeat(32)}` }), { status: 201 });
    }) as typeof fetch;
    const carrier = createCxmlVoice({
      spaceUrl: 'https://space.example.com',
      projectId: 'proj',
      apiToken: 'tok',
      publicUrl: 'https://mfa.example.com',
      fetch: fakeFetch,
    });
    expect(carrier.name).toBe('signalwire-cxml');
    await carrier.placeCall({
      flowId: 'a b/c&d',
      from: SERVICE,
      to: '+12025550199',
      ringTimeoutSec: 25,
      machineDetection: true,
      sendDigits: 'ww1234',
    });
    const [request] = requests;
    expect(request!.url).toBe('https://space.example.com/api/laml/2010-04-01/Accounts/proj/Calls.json');
    expect((request!.init.headers as Record<string, string>).authorization).toBe(
      `Basic ${Buffer.from('proj:tok').toString('base64')}`,
    );
    const form = request!.init.body as URLSearchParams;
    expect(form.get('From')).toBe(SERVICE);
    expect(form.get('To')).toBe('+12025550199');
    expect(form.get('Url')).toBe('https://mfa.example.com/webhooks/voice?flow=a%20b%2Fc%26d');
    expect(form.get('Method')).toBe('POST');
    expect(form.get('StatusCallback')).toBe(
      'https://mfa.example.com/webhooks/voice/status?flow=a%20b%2Fc%26d',
    );
    expect(form.get('StatusCallbackMethod')).toBe('POST');
    expect(form.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(form.get('Timeout')).toBe('25');
    expect(form.get('SendDigits')).toBe('ww1234');
    expect(form.get('MachineDetection')).toBe('Enable');

    await carrier.placeCall({
      flowId: 'f',
      from: SERVICE,
      to: '+12025550199',
      ringTimeoutSec: 5,
      machineDetection: false,
    });
    const plain = requests[1]!.init.body as URLSearchParams;
    expect(plain.has('SendDigits')).toBe(false);
    expect(plain.has('MachineDetection')).toBe(false);
  });

  it('throws a CarrierError when the space refuses or cannot be reached', async () => {
    const wrong = createCxmlVoice({
      spaceUrl: `${publicUrl}/dev/carrier/space`,
      projectId: PROJECT,
      apiToken: 'wrong-token',
      publicUrl,
    });
    const refused = await wrong
      .placeCall({
        flowId: 'x',
        from: SERVICE,
        to: nextHandset(),
        ringTimeoutSec: 5,
        machineDetection: false,
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CarrierError);
    expect(refused).toMatchObject({ status: 401, carrierCode: 20003 });

    const failing = createCxmlVoice({
      spaceUrl: 'http://space.invalid',
      projectId: PROJECT,
      apiToken: TOKEN,
      publicUrl,
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as typeof fetch,
    });
    await expect(failing.hangup(`CA${'0'.repeat(32)}`)).rejects.toMatchObject({ status: 0 });
  });
});

describe('the simulated space answers the Calls REST API', () => {
  it('refuses a call without To, From or Url, or with bad credentials', async () => {
    const post = (form: Record<string, string>, token = TOKEN) =>
      fetch(`${publicUrl}/dev/carrier/space/api/laml/2010-04-01/Accounts/${PROJECT}/Calls.json`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${PROJECT}:${token}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams(form),
      });
    const full = { From: SERVICE, To: nextHandset(), Url: `${publicUrl}/webhooks/voice?flow=x` };
    for (const missing of ['To', 'From', 'Url'] as const) {
      const { [missing]: _dropped, ...rest } = full;
      const response = await post(rest);
      expect(response.status).toBe(400);
    }
    expect((await post({ ...full, To: '12345' })).status).toBe(400);
    expect((await post({ ...full, Url: 'not a url' })).status).toBe(400);
    expect((await post(full, 'bad')).status).toBe(401);
  });
});

describe('a simulated call', () => {
  it('rings, is answered, takes 1234# and ends verified, with signed, numbered callbacks', async () => {
    const call = await place();
    const ringing = await waitForCallbacks(call.sid, 2);
    expect(statuses(ringing)).toEqual(['queued', 'ringing']);
    expect(ringing.every((hit) => hit.valid)).toBe(true);
    expect(ringing.every((hit) => hit.query.flow === call.flowId)).toBe(true);
    expect(ringing[0]!.params).toMatchObject({
      CallSid: call.sid,
      AccountSid: PROJECT,
      From: SERVICE,
      To: call.to,
      Direction: 'outbound-api',
      SequenceNumber: '0',
    });
    expect(ringing[0]!.params.Timestamp).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);

    const [listed] = await callsTo(call.to);
    expect(listed).toMatchObject({ sid: call.sid, status: 'ringing', gathering: false, transcript: [] });

    const answer = await control(call.sid, 'answer');
    expect(answer.status).toBe(200);
    expect(answer.body.call).toMatchObject({
      status: 'in-progress',
      gathering: true,
      transcript: [{ who: 'engine', text: PROMPT, language: 'en-US' }],
    });
    const [answerHook] = webhooks(call.sid, '/webhooks/voice');
    expect(answerHook).toMatchObject({
      valid: true,
      query: { flow: call.flowId },
      params: { CallStatus: 'in-progress', Direction: 'outbound-api', From: SERVICE, To: call.to },
    });
    expect(answerHook!.params.AnsweredBy).toBeUndefined();
    expect(statuses(callbacks(call.sid))).toEqual(['queued', 'ringing', 'in-progress']);

    clock.advance(7_000);
    const pressed = await control(call.sid, 'digits', { digits: '1234#' });
    expect(pressed.status).toBe(200);
    expect(pressed.body.call).toMatchObject({ status: 'completed', gathering: false });
    expect(pressed.body.call.transcript.slice(1)).toEqual([
      { who: 'caller', text: 'pressed 1234#' },
      { who: 'engine', text: 'Thank you. You are verified.', language: 'en-US' },
    ]);
    const [gatherHook] = webhooks(call.sid, '/webhooks/voice/gather');
    expect(gatherHook).toMatchObject({ valid: true, params: { Digits: '1234', CallStatus: 'in-progress' } });

    const all = await waitForCallbacks(call.sid, 4);
    expect(statuses(all)).toEqual(['queued', 'ringing', 'in-progress', 'completed']);
    expect(all.every((hit) => hit.valid)).toBe(true);
    expect(all.map((hit) => Number(hit.params.SequenceNumber))).toEqual([0, 1, 2, 3]);
    expect(all[3]!.params.CallDuration).toBe('7');
    expect((await callsTo(call.to))[0]).toMatchObject({ status: 'completed' });
  });

  it('silence runs the verbs after the Gather: the Redirect re-prompts', async () => {
    const call = await answered();
    const silent = await control(call.sid, 'timeout');
    expect(silent.status).toBe(200);
    expect(silent.body.call).toMatchObject({ status: 'in-progress', gathering: true });
    expect(silent.body.call.transcript.slice(1)).toEqual([
      { who: 'caller', text: 'stayed silent' },
      { who: 'engine', text: 'We did not hear anything.' },
      { who: 'engine', text: PROMPT, language: 'en-US' },
    ]);
    const [redirect] = webhooks(call.sid, '/webhooks/voice/gather');
    expect(redirect).toMatchObject({ valid: true, query: { flow: call.flowId, silence: '1' } });
    expect(redirect!.params.Digits).toBeUndefined();

    const hungUp = await control(call.sid, 'hangup');
    expect(hungUp.body.call.status).toBe('completed');
    expect(statuses(await waitForCallbacks(call.sid, 4))).toEqual([
      'queued',
      'ringing',
      'in-progress',
      'completed',
    ]);
    expect((await control(call.sid, 'timeout')).status).toBe(409);
  });

  it('# alone is silence too', async () => {
    const call = await answered();
    const pressed = await control(call.sid, 'digits', { digits: '#' });
    expect(pressed.body.call).toMatchObject({ status: 'in-progress', gathering: true });
    expect(pressed.body.call.transcript[1]).toEqual({ who: 'caller', text: 'pressed #' });
    expect(pressed.body.call.transcript[2]).toEqual({ who: 'engine', text: 'We did not hear anything.' });
    expect(webhooks(call.sid, '/webhooks/voice/gather')[0]!.query.silence).toBe('1');
  });

  it('handles a 30-key flood in one request in order, entry by entry', async () => {
    const call = await answered();
    const keys = '1111#2222#3333#4444#5555#1234#';
    expect(keys).toHaveLength(30);
    const pressed = await control(call.sid, 'digits', { digits: keys });
    expect(pressed.status).toBe(200);
    expect(pressed.body.call.status).toBe('completed');
    expect(webhooks(call.sid, '/webhooks/voice/gather').map((hit) => hit.params.Digits)).toEqual([
      '1111',
      '2222',
      '3333',
      '4444',
      '5555',
      '1234',
    ]);
    const callerLines = pressed.body.call.transcript.filter((line: { who: string }) => line.who === 'caller');
    expect(callerLines.map((line: { text: string }) => line.text)).toEqual([
      'pressed 1111#',
      'pressed 2222#',
      'pressed 3333#',
      'pressed 4444#',
      'pressed 5555#',
      'pressed 1234#',
    ]);
    expect(statuses(await waitForCallbacks(call.sid, 4)).at(-1)).toBe('completed');
  });

  it('handles keys pressed in quick succession one after the other, in order', async () => {
    const call = await answered();
    // Started without waiting for each other: every press is queued behind the previous one on the call.
    const presses = ['1', '2', '3', '4', '#', '9'].map((key) => center.press(call.sid, key));
    const results = await Promise.allSettled(presses);
    expect(results.slice(0, 5).map((result) => result.status === 'fulfilled' && result.value.status)).toEqual(
      ['in-progress', 'in-progress', 'in-progress', 'in-progress', 'completed'],
    );
    // The last key comes after the hangup: refused, as the control API would (409).
    expect(results[5]).toMatchObject({
      status: 'rejected',
      reason: { code: 'call_not_in_progress', statusCode: 409 },
    });
    expect(webhooks(call.sid, '/webhooks/voice/gather').map((hit) => hit.params.Digits)).toEqual(['1234']);
    const [final] = await callsTo(call.to);
    expect(final!.transcript.filter((line) => line.who === 'caller').map((line) => line.text)).toEqual([
      'pressed 1',
      'pressed 2',
      'pressed 3',
      'pressed 4',
      'pressed #',
    ]);
  });

  it('refuses more than 64 keys, or keys that are not on a keypad', async () => {
    const call = await answered();
    expect((await control(call.sid, 'digits', { digits: '1'.repeat(65) })).status).toBe(400);
    expect((await control(call.sid, 'digits', { digits: '12a' })).status).toBe(400);
    expect((await control(call.sid, 'digits', {})).status).toBe(400);
    expect((await control(call.sid, 'digits', { digits: '1'.repeat(64) })).status).toBe(200);
  });

  it('busy before an answer ends the call; it can no longer be answered', async () => {
    const call = await place();
    await waitForCallbacks(call.sid, 2);
    expect((await control(call.sid, 'digits', { digits: '1' })).body.error.code).toBe('call_not_in_progress');
    const busy = await control(call.sid, 'status', { status: 'busy' });
    expect(busy.body.call.status).toBe('busy');
    const all = await waitForCallbacks(call.sid, 3);
    expect(statuses(all)).toEqual(['queued', 'ringing', 'busy']);
    expect(all[2]).toMatchObject({ valid: true, params: { CallDuration: '0', SequenceNumber: '2' } });
    const again = await control(call.sid, 'answer');
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'call_not_ringing' } } });
    expect(webhooks(call.sid, '/webhooks/voice')).toEqual([]);
    expect((await control(call.sid, 'status', { status: 'ringing' })).status).toBe(400);
  });

  it('voicemail with machine detection: AnsweredBy machine_start; sent digits are noted', async () => {
    const call = await place({ machineDetection: true, sendDigits: 'ww1234' });
    await waitForCallbacks(call.sid, 2);
    const machine = await control(call.sid, 'status', { status: 'machine' });
    expect(machine.body.call.status).toBe('in-progress');
    expect(machine.body.call.transcript).toContainEqual({ who: 'carrier', text: 'sent digits ww1234' });
    expect(webhooks(call.sid, '/webhooks/voice')[0]!.params.AnsweredBy).toBe('machine_start');
    expect(callbacks(call.sid)[2]!.params).toMatchObject({
      CallStatus: 'in-progress',
      AnsweredBy: 'machine_start',
    });

    const human = await place({ machineDetection: true });
    await waitForCallbacks(human.sid, 2);
    await control(human.sid, 'answer', { answeredBy: 'human' });
    expect(webhooks(human.sid, '/webhooks/voice')[0]!.params.AnsweredBy).toBe('human');
  });

  it('the engine hangs up: a ringing call is canceled, a live one completed, an ended or unknown one is fine', async () => {
    const ringing = await place();
    await waitForCallbacks(ringing.sid, 2);
    await voice.hangup(ringing.sid);
    expect(statuses(await waitForCallbacks(ringing.sid, 3))).toEqual(['queued', 'ringing', 'canceled']);
    await voice.hangup(ringing.sid);

    const live = await answered();
    await voice.hangup(live.sid);
    expect(statuses(await waitForCallbacks(live.sid, 4)).at(-1)).toBe('completed');
    expect((await callsTo(live.to))[0]!.status).toBe('completed');
    await voice.hangup(live.sid);
    await voice.hangup(`CA${'f'.repeat(32)}`);
  });

  it('stops after 20 redirects in a row', async () => {
    const to = nextHandset();
    const response = await fetch(
      `${publicUrl}/dev/carrier/space/api/laml/2010-04-01/Accounts/${PROJECT}/Calls.json`,
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${PROJECT}:${TOKEN}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ From: SERVICE, To: to, Url: `${publicUrl}/webhooks/voice/loop` }),
      },
    );
    expect(response.status).toBe(201);
    const { sid } = (await response.json()) as { sid: string };
    const answer = await control(sid, 'answer');
    expect(answer.body.call.status).toBe('completed');
    expect(answer.body.call.transcript.at(-1)).toEqual({
      who: 'carrier',
      text: 'more than 20 redirects in a row',
    });
    expect(webhooks(sid, '/webhooks/voice/loop')).toHaveLength(21);
  });

  it('answers 404 for an unknown call and 400 for a bad number', async () => {
    for (const action of ['answer', 'digits', 'timeout', 'hangup', 'status']) {
      const body =
        action === 'digits' ? { digits: '1' } : action === 'status' ? { status: 'busy' } : undefined;
      const response = await control(`CA${'0'.repeat(32)}`, action, body);
      expect(response).toMatchObject({ status: 404, body: { error: { code: 'call_not_found' } } });
    }
    expect((await control('not-a-sid', 'answer')).status).toBe(404);
    expect((await fetch(`${publicUrl}/dev/carrier/calls?to=123`)).status).toBe(400);
  });
});

describe('the dev phone shows calls', () => {
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
    redirect: 'manual' as const,
  });

  it('rings, answers, takes keys and hangs up with plain forms', async () => {
    const call = await place();
    await waitForCallbacks(call.sid, 2);
    const pageUrl = `${publicUrl}/dev/phone?number=${encodeURIComponent(call.to)}`;
    let page = await (await fetch(pageUrl)).text();
    expect(page).toContain('Incoming call');
    expect(page).toContain(`action="/dev/phone/call/${call.sid}/answer"`);
    expect(page).toContain(`action="/dev/phone/call/${call.sid}/decline"`);
    expect(page).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);

    const answer = await fetch(`${publicUrl}/dev/phone/call/${call.sid}/answer`, form({ number: call.to }));
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(
      `/dev/phone?number=${encodeURIComponent(call.to)}#${call.sid}`,
    );
    page = await (await fetch(pageUrl)).text();
    expect(page).toContain(PROMPT);
    expect(page).toContain(`action="/dev/phone/call/${call.sid}/keys"`);
    for (const key of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {
      expect(page).toContain(`name="key" value="${key}"`);
    }
    expect(page).toContain('Stay silent');
    expect(page).toContain('Hang up');

    for (const key of '1234#') {
      const pressed = await fetch(
        `${publicUrl}/dev/phone/call/${call.sid}/keys`,
        form({ number: call.to, key }),
      );
      expect(pressed.status).toBe(303);
    }
    page = await (await fetch(pageUrl)).text();
    expect(page).toContain('Thank you. You are verified.');
    expect(page).toContain('<span class="status">completed</span>');
    expect(page).not.toContain(`action="/dev/phone/call/${call.sid}/keys"`);

    const late = await fetch(`${publicUrl}/dev/phone/call/${call.sid}/hangup`, form({ number: call.to }));
    expect(late.status).toBe(409);
    expect(await late.text()).toContain('cannot do this now');
    const badKey = await fetch(
      `${publicUrl}/dev/phone/call/${call.sid}/keys`,
      form({ number: call.to, key: '12' }),
    );
    expect(badKey.status).toBe(400);
  });

  it('declines a ringing call (busy)', async () => {
    const call = await place();
    await waitForCallbacks(call.sid, 2);
    const declined = await fetch(
      `${publicUrl}/dev/phone/call/${call.sid}/decline`,
      form({ number: call.to, refresh: 'off' }),
    );
    expect(declined.status).toBe(303);
    expect(declined.headers.get('location')).toContain('&refresh=off');
    expect(statuses(await waitForCallbacks(call.sid, 3)).at(-1)).toBe('busy');
  });
});
