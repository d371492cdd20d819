/** Pure parts of the portal: templates, buckets for rate limits, redirect targets, secret comparison. */
import { describe, expect, it } from 'vitest';
import { addressBucket, localPath, usernameBucket } from '../../src/portal/login.js';
import { resolveLoginLimits } from '../../src/portal/portal-foundation.js';
import { hasStage, sameSecret, sessionCookie } from '../../src/portal/portal-security.js';
import type { PortalSession } from '../../src/portal/session-store.js';
import { html } from '../../web/html.js';
import { renderHomePage } from '../../web/portal/home-page.js';
import { renderLayout } from '../../web/portal/layout.js';
import { LOGIN_FAILED_MESSAGE, renderLoginPage } from '../../web/portal/login-page.js';
import { renderMessagePage } from '../../web/portal/message-page.js';

const TOKEN = 'T'.repeat(43);
const NO_INLINE = /<script|\sstyle=|<style|\son[a-z]+=/i;

describe('portal templates', () => {
  it('render the sign-in page with labels, the CSRF field and no inline code', () => {
    const page = renderLoginPage({ serviceName: 'Acme MFA', csrfToken: TOKEN });
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<title>Sign in · Acme MFA</title>');
    expect(page).toContain('<link rel="stylesheet" href="/portal.css">');
    expect(page).toContain(`<input type="hidden" name="_csrf" value="${TOKEN}">`);
    expect(page).toContain('<label for="username">Username</label>');
    expect(page).toContain('<label for="password">Password</label>');
    expect(page).not.toContain('role="alert"');
    expect(page).not.toMatch(NO_INLINE);
  });

  it('tie the generic error to both fields and field errors to their field', () => {
    const failed = renderLoginPage({ serviceName: 'S', csrfToken: TOKEN, error: LOGIN_FAILED_MESSAGE });
    expect(failed).toContain('<div class="alert" role="alert" id="login-error">');
    expect(failed.match(/aria-describedby="login-error" aria-invalid="true"/g)).toHaveLength(2);

    const missing = renderLoginPage({
      serviceName: 'S',
      csrfToken: TOKEN,
      username: 'jdoe',
      fieldErrors: { password: 'Enter your password.' },
    });
    expect(missing).toMatch(/<p class="field-error" id="password-error">.*Enter your password\.<\/p>/);
    expect(missing).toMatch(/id="password"[^>]*autofocus[^>]*aria-describedby="password-error"/);
    expect(missing).toMatch(/id="username"[^>]*value="jdoe"/);
    expect(missing).not.toMatch(/id="username"[^>]*autofocus/);
  });

  it('escape everything user-supplied', () => {
    const evil = '"><script>alert(1)</script>';
    const login = renderLoginPage({ serviceName: evil, csrfToken: evil, username: evil, error: evil });
    const home = renderHomePage({ serviceName: 'S', username: evil, displayName: evil, csrfToken: evil });
    const message = renderMessagePage({
      serviceName: 'S',
      title: evil,
      message: evil,
      next: { href: evil, label: evil },
    });
    for (const page of [login, home, message]) {
      expect(page).not.toContain('<script>');
      expect(page).toContain('&quot;&gt;&lt;script&gt;');
    }
  });

  it('show the signed-in user and a sign-out form in the header when given an account', () => {
    const page = renderLayout({
      title: 'Phones',
      serviceName: 'S',
      main: html`<p>content</p>`,
      account: { username: 'jdoe', csrfToken: TOKEN },
    });
    expect(page).toContain('Signed in as <strong>jdoe</strong>');
    expect(page).toMatch(/<form method="post" action="\/logout"[^>]*>\n<input type="hidden" name="_csrf"/);
    expect(page).toContain('<a class="skip-link" href="#main">');
  });
});

describe('portal helpers', () => {
  it('fold usernames for the rate limit like the directory compares them', () => {
    expect(usernameBucket('JDoe')).toBe(usernameBucket(' jdoe '));
    expect(usernameBucket('ｊｄｏｅ')).toBe(usernameBucket('jdoe'));
    expect(usernameBucket('jdoe')).not.toBe(usernameBucket('jdoe2'));
    expect(usernameBucket('x'.repeat(100_000))).toHaveLength(32);
  });

  it('count IPv4 per address and IPv6 per /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('follow only local paths after sign-in', () => {
    expect(localPath('/')).toBe('/');
    expect(localPath('/enroll/phone?step=2')).toBe('/enroll/phone?step=2');
    for (const bad of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example',
      'enroll',
      '',
      '/a\nb',
    ]) {
      expect(localPath(bad), JSON.stringify(bad)).toBe('/');
    }
  });

  it('compare secrets of any length', () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(sameSecret('', TOKEN)).toBe(false);
  });

  it('rank stages and require a user beyond anonymous', () => {
    const session = (stage: PortalSession['stage'], username: string | null): PortalSession => ({
      id: 'i',
      handle: 'h',
      username,
      stage,
      csrf: 'c',
      createdAt: 0,
      lastSeenAt: 0,
      data: {},
    });
    expect(hasStage(null, 'anonymous')).toBe(false);
    expect(hasStage(session('anonymous', null), 'anonymous')).toBe(true);
    expect(hasStage(session('anonymous', null), 'password')).toBe(false);
    expect(hasStage(session('password', 'jdoe'), 'password')).toBe(true);
    expect(hasStage(session('password', 'jdoe'), 'verified')).toBe(false);
    expect(hasStage(session('verified', 'jdoe'), 'password')).toBe(true);
    expect(hasStage(session('verified', null), 'verified')).toBe(false);
  });

  it('name the cookie by the public URL', () => {
    expect(sessionCookie('http://localhost:3000')).toEqual({
      name: 'mfa_session',
      options: { path: '/', httpOnly: true, sameSite: 'lax', secure: false },
    });
    expect(sessionCookie('https://mfa.example.com').name).toBe('__Host-mfa_session');
    expect(sessionCookie('https://mfa.example.com').options.secure).toBe(true);
  });

  it('merge login limits over the defaults', () => {
    expect(resolveLoginLimits({ perIp: { limit: 3 } })).toEqual({
      perUsername: { limit: 10, windowSeconds: 900 },
      perIp: { limit: 3, windowSeconds: 900 },
      minFailureMs: 600,
    });
  });
});
