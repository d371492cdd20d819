import { describe, expect, it } from 'vitest';
import { type DevPhoneMessage, renderDevPhonePage } from '../../web/dev-phone-page.js';
import { escapeHtml, html, raw, SafeHtml } from '../../web/html.js';

const SERVICE = '+12025550100';
const HANDSET = '+12025550123';

function message(overrides: Partial<DevPhoneMessage>): DevPhoneMessage {
  return {
    sid: `SM${'0'.repeat(32)}`,
    from: SERVICE,
    to: HANDSET,
    body: 'hello',
    status: 'delivered',
    direction: 'outbound',
    createdAt: '2026-01-01T09:30:05.000Z',
    ...overrides,
  };
}

describe('escapeHtml', () => {
  it('escapes the five significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('renders null and undefined as nothing and other values as text', () => {
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(42)).toBe('42');
    expect(escapeHtml('plain')).toBe('plain');
  });
});

describe('html', () => {
  it('escapes interpolations but not the template itself', () => {
    const name = '<b>"Bob" & co</b>';
    expect(html`<p class="x">${name}</p>`.toString()).toBe(
      '<p class="x">&lt;b&gt;&quot;Bob&quot; &amp; co&lt;/b&gt;</p>',
    );
  });

  it('inserts raw() and nested html fragments as they are, without double escaping', () => {
    const inner = html`<em>${'a&b'}</em>`;
    expect(inner).toBeInstanceOf(SafeHtml);
    expect(html`<p>${inner}${raw('<br>')}</p>`.toString()).toBe('<p><em>a&amp;b</em><br></p>');
  });

  it('renders arrays item by item and skips null, undefined and false', () => {
    const items = ['<1>', html`<i>2</i>`];
    expect(html`<ul>${items.map((item) => html`<li>${item}</li>`)}</ul>`.toString()).toBe(
      '<ul><li>&lt;1&gt;</li><li><i>2</i></li></ul>',
    );
    expect(html`[${null}${undefined}${false}${0}]`.toString()).toBe('[0]');
  });

  it('escapes quotes in attribute values', () => {
    const value = '" onmouseover="alert(1)';
    expect(html`<input value="${value}">`.toString()).toBe(
      '<input value="&quot; onmouseover=&quot;alert(1)">',
    );
  });
});

describe('renderDevPhonePage', () => {
  it('without a number: only the number form, no refresh, the stylesheet linked', () => {
    const page = renderDevPhonePage({ serviceNumber: SERVICE });
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<link rel="stylesheet" href="/dev/phone.css">');
    expect(page).toContain('<form method="get" action="/dev/phone">');
    expect(page).toContain('name="number"');
    expect(page).not.toContain('http-equiv="refresh"');
    expect(page).not.toContain('action="/dev/phone/reply"');
    expect(page).toContain(SERVICE);
  });

  it('escapes a text body and every other value', () => {
    const page = renderDevPhonePage({
      serviceNumber: SERVICE,
      number: HANDSET,
      messages: [message({ body: '<script>alert(1)</script>', status: '<b>x</b>' })],
      error: '<img src=x onerror=alert(1)>',
    });
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>x</b>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('escapes a hostile number typed into the number field', () => {
    const page = renderDevPhonePage({ serviceNumber: SERVICE, numberInput: '"><script>x</script>' });
    expect(page).not.toContain('<script>');
    expect(page).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });

  it('shows the conversation in the order given (oldest first, newest last) with time, status and sides', () => {
    const page = renderDevPhonePage({
      serviceNumber: SERVICE,
      number: HANDSET,
      messages: [
        message({
          sid: `SM${'1'.repeat(32)}`,
          body: 'Your code is 123456',
          createdAt: '2026-01-01T09:30:05.000Z',
        }),
        message({
          sid: `SM${'2'.repeat(32)}`,
          from: HANDSET,
          to: SERVICE,
          body: '123456 4821',
          status: 'received',
          direction: 'inbound',
          createdAt: '2026-01-01T09:30:40.000Z',
        }),
        message({ sid: `SM${'3'.repeat(32)}`, body: 'You are verified', status: 'sent' }),
      ],
    });
    const first = page.indexOf('Your code is 123456');
    const second = page.indexOf('123456 4821');
    const third = page.indexOf('You are verified');
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(third).toBeGreaterThan(second);
    expect(page).toContain('<time datetime="2026-01-01T09:30:05.000Z">2026-01-01 09:30:05 UTC</time>');
    expect(page).toContain('<time datetime="2026-01-01T09:30:40.000Z">2026-01-01 09:30:40 UTC</time>');
    expect(page).toContain('<span class="status">received</span>');
    expect(page).toContain('<span class="status">sent</span>');
    expect(page.match(/message--received/g)).toHaveLength(2);
    expect(page.match(/message--sent/g)).toHaveLength(1);
  });

  it('with a number: refresh every 3 s and a reply form posting the number and a body', () => {
    const page = renderDevPhonePage({ serviceNumber: SERVICE, number: HANDSET, messages: [] });
    expect(page).toContain('<meta http-equiv="refresh" content="3">');
    expect(page).toContain('<form method="post" action="/dev/phone/reply">');
    expect(page).toContain(`<input type="hidden" name="number" value="${HANDSET}">`);
    expect(page).toMatch(/<label for="body">Reply<\/label>/);
    expect(page).toMatch(/<input id="body" name="body" type="text"[^>]*>/);
    expect(page).toContain('<button type="submit">Send</button>');
    expect(page).toContain('No texts yet.');
  });

  it('has no inline script, event handler or style attribute', () => {
    const page = renderDevPhonePage({
      serviceNumber: SERVICE,
      number: HANDSET,
      messages: [message({})],
      error: 'oops',
    });
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/\sstyle=/i);
    expect(page).not.toMatch(/<style/i);
    expect(page).not.toMatch(/\son[a-z]+=/i);
  });

  it('can pause the refresh and keeps the choice through the reply form', () => {
    const page = renderDevPhonePage({ serviceNumber: SERVICE, number: HANDSET, autoRefresh: false });
    expect(page).not.toContain('http-equiv="refresh"');
    expect(page).toContain('<input type="hidden" name="refresh" value="off">');
    expect(page).toContain(`href="/dev/phone?number=${encodeURIComponent(HANDSET)}"`);
  });
});
