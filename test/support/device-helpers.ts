import { activate, DeviceClient } from '../../scripts/authenticator-client.js';
import type { TestRuntime } from './test-runtime.js';

/** What the portal's "Generate Activation Code" shows: the activation URL and the code. */
export async function newActivation(t: TestRuntime, username: string) {
  const created = await t.api(`/api/v1/users/${encodeURIComponent(username)}/activations`, {
    method: 'POST',
  });
  if (created.status !== 201) throw new Error(`no activation: ${JSON.stringify(created.body)}`);
  return {
    url: created.body.activationUrl as string,
    code: created.body.code.replace(/ /g, '') as string,
    link: created.body.link as string,
  };
}

/** A device activated through the device API, signing with the server's manual clock. */
export async function activateDevice(t: TestRuntime, username: string, name = 'Test phone') {
  const { url, code } = await newActivation(t, username);
  const now = () => t.clock.now();
  return new DeviceClient(await activate(url, code, { name, platform: 'cli' }, now), now);
}

export async function createUser(t: TestRuntime, username: string, pin: string | null = '4821') {
  const created = await t.api('/api/v1/users', {
    body: { username, phones: { mobile: '+12025550147' }, ...(pin ? { pin } : {}) },
  });
  if (created.status !== 201) throw new Error(`user not created: ${JSON.stringify(created.body)}`);
}

export async function startPush(t: TestRuntime, username: string) {
  const user = await t.runtime.users.get(username);
  if (!user) throw new Error(`no user ${username}`);
  return t.runtime.mobile.push.start(user, { purpose: 'api', request: { ip: '192.0.2.7' } });
}
