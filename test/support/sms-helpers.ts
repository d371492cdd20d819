import { SIMULATOR_SERVICE_NUMBER } from '../../src/config/load-config.js';
import { computeSignature } from '../../src/security/webhook-signature.js';
import { eventually, TEST_SIGNING_KEY, type TestRuntime } from './test-runtime.js';

export interface SimMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'outbound' | 'inbound';
}

export const SERVICE_NUMBER = SIMULATOR_SERVICE_NUMBER;

export async function textsTo(t: TestRuntime, to: string): Promise<SimMessage[]> {
  const response = await fetch(`${t.baseUrl}/dev/carrier/messages?to=${encodeURIComponent(to)}`);
  const { messages } = (await response.json()) as { messages: SimMessage[] };
  return messages.filter((m) => m.direction === 'outbound' && m.to === to).reverse(); // oldest first
}

/** Waits until `count` texts went to the number and returns them, oldest first. */
export function waitForTexts(t: TestRuntime, to: string, count: number): Promise<SimMessage[]> {
  return eventually(
    async () => {
      const texts = await textsTo(t, to);
      return texts.length >= count ? texts : undefined;
    },
    10_000,
    `${count} text(s) to ${to}`,
  );
}

export function codeIn(text: SimMessage): string {
  const match = /\b(\d{6,10})\b/.exec(text.body);
  if (!match?.[1]) throw new Error(`no code in: ${text.body}`);
  return match[1];
}

/** A handset replying through the simulator (signed webhook, as a carrier would deliver it). */
export async function replyFrom(t: TestRuntime, from: string, body: string): Promise<number> {
  const response = await fetch(`${t.baseUrl}/dev/carrier/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: SERVICE_NUMBER, body }),
  });
  return response.status;
}

/** Posts a form to a webhook, signed with `key` (the test signing key unless told otherwise). */
export async function postWebhook(
  t: TestRuntime,
  pathname: string,
  params: Record<string, string>,
  options: { key?: string; signature?: string | null; header?: string } = {},
): Promise<{ status: number; text: string }> {
  const url = `${t.baseUrl}${pathname}`;
  const signature =
    options.signature === undefined
      ? computeSignature(options.key ?? TEST_SIGNING_KEY, url, params)
      : options.signature;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { [options.header ?? 'x-signalwire-signature']: signature }),
    },
    body: new URLSearchParams(params),
  });
  return { status: response.status, text: await response.text() };
}

export async function createUser(t: TestRuntime, user: Record<string, unknown>) {
  const response = await t.api('/api/v1/users', { body: user });
  if (response.status !== 201) throw new Error(`user not created: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A user with a mobile and a pending SMS verification whose code text has been sent. */
export async function pendingSmsFlow(t: TestRuntime, username: string, mobile: string) {
  await createUser(t, { username, phones: { mobile } });
  const { body } = await t.api('/api/v1/verifications', { body: { username } });
  await waitForTexts(t, mobile, 1);
  return { id: body.id as string, mobile };
}

export function waitForStatus(t: TestRuntime, id: string, status: string) {
  return eventually(
    async () => {
      const { body } = await t.api(`/api/v1/verifications/${id}`);
      return body.status === status ? body : undefined;
    },
    10_000,
    `verification ${id} to be ${status}`,
  );
}
