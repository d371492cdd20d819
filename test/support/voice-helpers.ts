import { eventually, type TestRuntime } from './test-runtime.js';

export interface SimCall {
  sid: string;
  from: string;
  to: string;
  status: string;
  gathering: boolean;
  transcript: { who: 'engine' | 'caller'; text: string }[];
}

export async function callsTo(t: TestRuntime, to: string): Promise<SimCall[]> {
  const response = await fetch(`${t.baseUrl}/dev/carrier/calls?to=${encodeURIComponent(to)}`);
  const { calls } = (await response.json()) as { calls: SimCall[] };
  return calls;
}

/** Waits for the newest call to the number to satisfy `ready` (ringing, gathering, ended...). */
export function waitForCall(
  t: TestRuntime,
  to: string,
  ready: (call: SimCall) => boolean,
  what = 'call',
): Promise<SimCall> {
  return eventually(
    async () => {
      const [call] = await callsTo(t, to);
      return call && ready(call) ? call : undefined;
    },
    10_000,
    `${what} to ${to}`,
  );
}

export const ringing = (call: SimCall) => call.status === 'ringing';
export const gathering = (call: SimCall) => call.gathering;
export const over = (call: SimCall) =>
  ['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(call.status);

/** A handset action on the simulator (answer, digits, timeout, hangup, status). */
export async function handset(
  t: TestRuntime,
  sid: string,
  action: string,
  body: Record<string, string> = {},
) {
  const response = await fetch(`${t.baseUrl}/dev/carrier/calls/${sid}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** What the engine said on the call, in order. */
export const spoken = (call: SimCall) => call.transcript.filter((l) => l.who === 'engine').map((l) => l.text);
