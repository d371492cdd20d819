/**
 * The load `npm run bench` puts on a server (the engine or the bare baseline, same requests): complete
 * verifications by text, call or push, each timed from its start to the verdict `approved`.
 */
import { activate, DeviceClient, type DeviceCredentials } from './authenticator-client.js';
import { BENCH_API_KEY } from './bench-server.js';

const AUTH = { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' };

export type Method = 'sms' | 'voice' | 'push';

export interface BenchUser {
  username: string;
  mobile: string;
  pin?: string;
  /** The engine's authenticator device for push rows. */
  device?: DeviceCredentials;
}

// biome-ignore lint/suspicious/noExplicitAny: the benchmark reads a few known fields of JSON answers
type Json = Record<string, any>;
const json = async (response: Response): Promise<Json> => (await response.json()) as Json;

export async function createUser(base: string, user: BenchUser): Promise<void> {
  const response = await fetch(`${base}/api/v1/users`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({
      username: user.username,
      phones: { mobile: user.mobile },
      ...(user.pin ? { pin: user.pin, pinMustChange: false } : {}),
    }),
  });
  if (response.status !== 201) throw new Error(`could not create ${user.username}: ${await response.text()}`);
}

/** Activates an authenticator device for the user on the engine, through the documented device API. */
export async function activateDevice(base: string, user: BenchUser): Promise<void> {
  const { activationUrl, code } = await json(
    await fetch(`${base}/api/v1/users/${user.username}/activations`, {
      method: 'POST',
      headers: { authorization: AUTH.authorization },
    }),
  );
  user.device = await activate(activationUrl, String(code).replace(/\s/g, ''), {
    name: 'bench',
    platform: 'cli',
  });
}

export async function startVerification(base: string, user: BenchUser, method: Method): Promise<Json> {
  const response = await fetch(`${base}/api/v1/verifications`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({ username: user.username, method }),
  });
  if (response.status !== 201) throw new Error(`start refused: ${response.status} ${await response.text()}`);
  return json(response);
}

/** The device's side of a push: long-poll for the challenge, then approve it with the number shown. */
async function approvePush(base: string, bare: boolean, user: BenchUser, id: string, number: string) {
  for (let polls = 0; polls < 20; polls += 1) {
    if (bare) {
      const headers = { 'dialtone-device': user.username, 'content-type': 'application/json' };
      const { challenges } = await json(await fetch(`${base}/device/v1/challenges?wait=10`, { headers }));
      const challenge = challenges.find((c: Json) => c.id === id);
      if (!challenge) continue;
      await fetch(`${base}/device/v1/challenges/${id}/answer`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ challengeId: id, nonce: challenge.nonce, decision: 'approve', number }),
      });
      return;
    }
    const device = new DeviceClient(user.device as DeviceCredentials);
    const challenge = (await device.challenges(10)).find((c) => c.id === id);
    if (!challenge) continue;
    const answer = await device.answer(challenge, 'approve', {
      number,
      ...(user.pin ? { pin: user.pin } : {}),
    });
    if (answer.status !== 200) throw new Error(`push answer refused: ${answer.status}`);
    return;
  }
  throw new Error('the push never reached the device');
}

export interface RunResult {
  perSecond: number;
  latencies: number[];
  failures: number;
  seconds: number;
}

/** `users.length` complete verifications, `concurrency` at a time. */
export async function runVerifications(
  base: string,
  method: Method,
  users: BenchUser[],
  concurrency: number,
  bare: boolean,
): Promise<RunResult> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const one = async (user: BenchUser) => {
    const started = performance.now();
    const { id, number } = await startVerification(base, user, method);
    if (method === 'push') await approvePush(base, bare, user, id, String(number));
    let verdict: Json = { status: 'pending' };
    for (let polls = 0; verdict.status === 'pending' && polls < 3; polls += 1)
      verdict = await json(await fetch(`${base}/api/v1/verifications/${id}?wait=10`, { headers: AUTH }));
    if (verdict.status !== 'approved') failures += 1;
    else latencies.push(performance.now() - started);
  };
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < users.length) await one(users[next++] as BenchUser);
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  return { perSecond: users.length / seconds, latencies, failures, seconds };
}
