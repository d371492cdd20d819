/**
 * The fake carrier `npm run bench` runs in a process of its own: a small cXML REST space that does what a real
 * carrier does and nothing the engine could lean on. `Messages.json` answers 201 and then posts signed status
 * callbacks (sent, delivered); a handset whose text carries a code replies to it (the code, then the handset's
 * PIN) as a signed inbound webhook. `Calls.json` answers 201, posts ringing, fetches the answer URL, keys the
 * handset's PIN and `#` into the Gather, follows the answer until Hangup, and posts completed.
 * The webhooks go to the origin of each request's StatusCallback, so one carrier serves the engine and the bare
 * baseline. Prints `{"url"}` on its first line, then runs until SIGTERM.
 *
 *   POST /control/handsets {numbers: [...], pin?: string, silent?: boolean}   how those handsets answer
 */
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { parseCxml } from '../src/carriers/simulator/simulator-calls.js';
import { findFreePort } from '../src/redis/redis-process.js';
import { computeSignature } from '../src/security/webhook-signature.js';

const SIGNING_KEY = process.env.BENCH_SIGNING_KEY ?? '';
const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

interface Handset {
  pin?: string;
  silent: boolean;
}
const handsets = new Map<string, Handset>();
/** Webhooks still being delivered: the carrier's own work, finished before it exits. */
let inFlight = 0;

async function post(url: string, params: Record<string, string>): Promise<string> {
  inFlight += 1;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-signalwire-signature': computeSignature(SIGNING_KEY, url, params),
      },
      body: new URLSearchParams(params),
    });
    const text = await response.text();
    if (process.env.BENCH_CARRIER_DEBUG)
      console.error(url, JSON.stringify(params), response.status, text.slice(0, 400));
    return text;
  } finally {
    inFlight -= 1;
  }
}

async function deliverText(form: Record<string, string>, messageSid: string): Promise<void> {
  const callback = form.StatusCallback;
  if (!callback) return;
  const base = { MessageSid: messageSid, AccountSid: 'AC0', From: form.From ?? '', To: form.To ?? '' };
  await post(callback, { ...base, MessageStatus: 'sent' });
  await post(callback, { ...base, MessageStatus: 'delivered' });
  const handset = handsets.get(form.To ?? '') ?? { silent: false };
  const code = /\b(\d{6,10})\b/.exec(form.Body ?? '')?.[1];
  if (!code || handset.silent) return;
  await post(`${new URL(callback).origin}/webhooks/sms`, {
    MessageSid: sid('SM'),
    AccountSid: 'AC0',
    From: form.To ?? '',
    To: form.From ?? '',
    Body: handset.pin ? `${code} ${handset.pin}` : code,
  });
}

/** Plays a call: answer, key the PIN and # at each Gather, follow Redirects, until Hangup or nothing is left. */
async function playCall(form: Record<string, string>, callSid: string): Promise<void> {
  const status = form.StatusCallback;
  const base = { CallSid: callSid, AccountSid: 'AC0', From: form.From ?? '', To: form.To ?? '' };
  if (status) await post(status, { ...base, CallStatus: 'ringing' });
  const handset = handsets.get(form.To ?? '') ?? { silent: false };
  let url = form.Url;
  let params: Record<string, string> = { ...base, CallStatus: 'in-progress', AnsweredBy: 'human' };
  for (let step = 0; url && step < 10; step += 1) {
    const verbs = parseCxml(await post(url, params));
    const current: string = url;
    url = undefined;
    for (const verb of verbs) {
      if (verb.verb === 'Gather') {
        url = new URL(verb.action ?? current, current).toString();
        params = { ...base, CallStatus: 'in-progress', Digits: handset.pin ?? '' };
        break;
      }
      if (verb.verb === 'Redirect') {
        url = new URL(verb.url, current).toString();
        params = { ...base, CallStatus: 'in-progress' };
        break;
      }
      if (verb.verb === 'Hangup') break;
    }
  }
  if (status) await post(status, { ...base, CallStatus: 'completed', CallDuration: '5' });
}

async function main() {
  const app = Fastify({ logger: false });
  await app.register(formbody, { bodyLimit: 1024 * 1024 });
  const accounts = '/api/laml/2010-04-01/Accounts/:account';
  app.post(`${accounts}/Messages.json`, async (request, reply) => {
    const form = request.body as Record<string, string>;
    const messageSid = sid('SM');
    void deliverText(form, messageSid).catch(() => {});
    return reply.code(201).send({ sid: messageSid, status: 'queued', to: form.To, from: form.From });
  });
  app.post(`${accounts}/Calls.json`, async (request, reply) => {
    const form = request.body as Record<string, string>;
    const callSid = sid('CA');
    void playCall(form, callSid).catch(() => {});
    return reply.code(201).send({ sid: callSid, status: 'queued', to: form.To, from: form.From });
  });
  app.post(`${accounts}/Calls/:call`, async (_request, reply) => reply.send({ status: 'completed' }));
  app.post('/control/handsets', async (request) => {
    const { numbers, pin, silent } = request.body as { numbers: string[]; pin?: string; silent?: boolean };
    for (const number of numbers) handsets.set(number, { ...(pin ? { pin } : {}), silent: Boolean(silent) });
    return { ok: true };
  });
  app.get('/control/idle', async () => ({ inFlight }));
  const port = await findFreePort();
  await app.listen({ host: '127.0.0.1', port });
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
