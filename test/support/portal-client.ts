import { expect } from 'vitest';
import { codeIn, replyFrom, waitForTexts } from './sms-helpers.js';
import type { TestRuntime } from './test-runtime.js';

export interface PortalAnswer {
  status: number;
  location: string | null;
  body: string;
}

/**
 * The portal over plain HTTP, as a browser would use it: a cookie jar, redirects not followed, and the CSRF
 * token of the last page that showed one added to every POST.
 */
export class PortalClient {
  private readonly jar = new Map<string, string>();
  private csrf = '';

  constructor(private readonly baseUrl: string) {}

  get(path: string): Promise<PortalAnswer> {
    return this.send('GET', path);
  }

  post(path: string, fields: Record<string, string> = {}): Promise<PortalAnswer> {
    return this.send('POST', path, { _csrf: this.csrf, ...fields });
  }

  private async send(method: string, path: string, fields?: Record<string, string>): Promise<PortalAnswer> {
    const headers: Record<string, string> = {};
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) headers.cookie = cookie;
    if (fields) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(fields ? { body: new URLSearchParams(fields).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /;\s*max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const body = await response.text();
    const token = /name="_csrf" value="([A-Za-z0-9_.-]+)"/.exec(body)?.[1];
    if (token) this.csrf = token;
    return { status: response.status, location: response.headers.get('location'), body };
  }
}

/**
 * Signs an enrolled user in with the directory password and passes the second factor by text: the code (and
 * PIN) replied from the mobile. Returns a client whose session is verified.
 */
export async function signInVerified(
  t: TestRuntime,
  user: { username: string; password: string; mobile: string; pin?: string },
): Promise<PortalClient> {
  const client = new PortalClient(t.baseUrl);
  await client.get('/login');
  const login = await client.post('/login', { username: user.username, password: user.password });
  expect(login.location).toBe('/verify');
  const before = (await waitForTexts(t, user.mobile, 0)).length;
  await client.get('/verify');
  const texts = await waitForTexts(t, user.mobile, before + 1);
  await replyFrom(t, user.mobile, `${codeIn(texts.at(-1)!)} ${user.pin ?? ''}`.trim());
  await expect.poll(async () => (await client.get('/verify')).location, { timeout: 10_000 }).toBe('/');
  return client;
}
