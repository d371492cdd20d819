/**
 * The bare baseline `npm run bench` measures beside the engine, in a process of its own: a Fastify server doing
 * the same HTTP work per verification with no logic behind it (no Redis, no machine, no signature checks, no
 * hashing). It takes the same requests from the load generator, sends the text or places the call through the
 * same fake carrier, answers its webhooks with fixed cXML, and long-polls verdicts from an in-memory map.
 * Prints `{"url"}` on its first line, then runs until SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { findFreePort } from '../src/redis/redis-process.js';

export const BENCH_API_KEY = 'bench-api-key-0123456789';
export const BENCH_SIGNING_KEY = 'bench-signing-key-0123456789';
export const BENCH_SERVICE_NUMBER = '+12025550100';
export const EMPTY_CXML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

interface Pending {
  status: string;
  username: string;
  waiters: (() => void)[];
}

async function main() {
  const carrierUrl = process.env.BENCH_CARRIER_URL ?? '';
  const port = await findFreePort();
  const base = `http://127.0.0.1:${port}`;
  const users = new Map<string, string>();
  const flows = new Map<string, Pending>();
  const byNumber = new Map<string, string>();
  const challenges = new Map<string, { id: string; nonce: string }[]>();
  const devicePolls = new Map<string, (() => void)[]>();
  const settle = (id: string | undefined) => {
    const flow = id ? flows.get(id) : undefined;
    if (flow?.status !== 'pending') return;
    flow.status = 'approved';
    for (const wake of flow.waiters.splice(0)) wake();
  };
  const carrier = (path: string, form: Record<string, string>) =>
    fetch(`${carrierUrl}/api/laml/2010-04-01/Accounts/bench${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    }).then((r) => r.json());

  const app = Fastify({ logger: false });
  await app.register(formbody);
  app.post('/api/v1/users', async (request, reply) => {
    const body = request.body as { username: string; phones?: { mobile?: string } };
    users.set(body.username, body.phones?.mobile ?? '');
    return reply.code(201).send({ username: body.username });
  });
  app.post('/api/v1/verifications', async (request, reply) => {
    const { username, method = 'sms' } = request.body as { username: string; method?: string };
    const id = randomBytes(15).toString('base64url');
    const to = users.get(username) ?? '';
    flows.set(id, { status: 'pending', username, waiters: [] });
    if (method === 'sms') {
      byNumber.set(to, id);
      await carrier('/Messages.json', {
        From: BENCH_SERVICE_NUMBER,
        To: to,
        Body: `Your code is ${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`,
        StatusCallback: `${base}/webhooks/sms/status`,
      });
    } else if (method === 'voice') {
      await carrier('/Calls.json', {
        From: BENCH_SERVICE_NUMBER,
        To: to,
        Url: `${base}/webhooks/voice?flow=${id}`,
        StatusCallback: `${base}/webhooks/voice/status?flow=${id}`,
      });
    } else {
      challenges.set(username, [{ id, nonce: randomBytes(16).toString('base64url') }]);
      for (const wake of devicePolls.get(username)?.splice(0) ?? []) wake();
    }
    return reply.code(201).send({ id, status: 'pending', method, number: '123' });
  });
  app.get('/api/v1/verifications/:id', async (request) => {
    const { id } = request.params as { id: string };
    const wait = Number((request.query as { wait?: string }).wait ?? 0);
    const flow = flows.get(id);
    if (flow?.status === 'pending' && wait > 0)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait * 1000);
        flow.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    return { id, status: flow?.status ?? 'pending' };
  });
  app.post('/webhooks/sms', async (request, reply) => {
    const form = request.body as { From?: string };
    settle(byNumber.get(form.From ?? ''));
    return reply.type('text/xml').send(EMPTY_CXML);
  });
  const ok = async (_request: unknown, reply: { type(t: string): { send(b: string): unknown } }) =>
    reply.type('text/xml').send(EMPTY_CXML);
  app.post('/webhooks/sms/status', ok);
  app.post('/webhooks/voice/status', ok);
  app.post('/webhooks/voice', async (request, reply) => {
    const { flow } = request.query as { flow: string };
    return reply
      .type('text/xml')
      .send(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="${base}/webhooks/voice/gather?flow=${flow}" finishOnKey="#" timeout="10"><Say>Enter your PIN, then press pound.</Say></Gather></Response>`,
      );
  });
  app.post('/webhooks/voice/gather', async (request, reply) => {
    settle((request.query as { flow: string }).flow);
    return reply
      .type('text/xml')
      .send(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say>You are verified.</Say><Hangup/></Response>',
      );
  });
  // A device is named by its user in this baseline (the engine's devices sign every request).
  app.get('/device/v1/challenges', async (request) => {
    const user = String(request.headers['dialtone-device'] ?? '');
    const wait = Number((request.query as { wait?: string }).wait ?? 0);
    if (!challenges.get(user)?.length && wait > 0)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait * 1000);
        devicePolls.set(user, [
          ...(devicePolls.get(user) ?? []),
          () => {
            clearTimeout(timer);
            resolve();
          },
        ]);
      });
    return { challenges: challenges.get(user) ?? [] };
  });
  app.post('/device/v1/challenges/:id/answer', async (request) => {
    const { id } = request.params as { id: string };
    const flow = flows.get(id);
    if (flow) challenges.delete(flow.username);
    settle(id);
    return { id, status: 'approved' };
  });
  await app.listen({ host: '127.0.0.1', port });
  process.stdout.write(`${JSON.stringify({ url: base })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

if (process.argv[1]?.endsWith('bench-server.ts')) void main();
