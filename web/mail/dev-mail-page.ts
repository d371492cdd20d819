import { html, type SafeHtml } from '../html.js';

/** One message as the dev mail pages show it (structurally a dev mailbox message). */
export interface DevMailView {
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  /** ISO 8601 */
  createdAt: string;
}

export const DEV_MAIL_PATH = '/dev/mail';
export const DEV_MAIL_JSON_PATH = '/dev/mail.json';
export const DEV_MAIL_CSS_PATH = '/dev/mail.css';

export function devMailMessagePath(id: string): string {
  return `${DEV_MAIL_PATH}/${encodeURIComponent(id)}`;
}

/** For the `content-security-policy` header of every page: no script at all, styles only from the stylesheet. */
export const DEV_MAIL_CSP =
  "default-src 'none'; style-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/** The list of captured mails, newest first: recipient, subject (a link to the message), time. */
export function renderDevMailList(messages: readonly DevMailView[]): string {
  return layout(
    'Dev mailbox',
    html`<h1>Dev mailbox</h1>
<p class="muted">No SMTP server is configured: mails the service sends are kept here (newest first, for a week). This page reloads every 5 seconds.</p>
${
  messages.length
    ? html`<table class="mails">
<thead><tr><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Time</th></tr></thead>
<tbody>
${messages.map(
  (
    mail,
  ) => html`<tr id="${mail.id}"><td>${mail.to}</td><td><a href="${devMailMessagePath(mail.id)}">${mail.subject}</a></td><td><time datetime="${mail.createdAt}">${formatTime(mail.createdAt)}</time></td></tr>
`,
)}</tbody>
</table>
`
    : html`<p class="empty">No mail yet.</p>
`
}`,
    { refresh: true },
  );
}

/** One mail: its headers and its text body, verbatim in a `<pre>` (the HTML part is never rendered). */
export function renderDevMailMessage(mail: DevMailView): string {
  return layout(
    mail.subject,
    html`<p><a href="${DEV_MAIL_PATH}">All mail</a></p>
<h1>${mail.subject}</h1>
<dl class="headers">
<dt>From</dt><dd>${mail.from}</dd>
<dt>To</dt><dd>${mail.to}</dd>
<dt>Time</dt><dd><time datetime="${mail.createdAt}">${formatTime(mail.createdAt)}</time></dd>
</dl>
<pre class="body">${mail.text}</pre>
`,
  );
}

export function renderDevMailNotFound(): string {
  return layout(
    'Mail not found',
    html`<p><a href="${DEV_MAIL_PATH}">All mail</a></p>
<h1>Mail not found</h1>
<p class="empty">This mail does not exist or is no longer kept.</p>
`,
  );
}

function layout(title: string, body: SafeHtml, opts: { refresh?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${opts.refresh ? html`<meta http-equiv="refresh" content="5">\n` : ''}<title>${title}</title>
<link rel="stylesheet" href="${DEV_MAIL_CSS_PATH}">
</head>
<body>
<main>
${body}</main>
</body>
</html>
`.toString();
}

/** `2026-01-01 09:30:05 UTC`: deterministic, whatever the server's time zone. */
function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The stylesheet, served at `DEV_MAIL_CSS_PATH` (pages carry no inline style). */
export const DEV_MAIL_CSS = `/* The dev mailbox: plain and readable, no JavaScript. */
*, *::before, *::after { box-sizing: border-box; }
:root { color-scheme: light dark; --bg: #f4f5f7; --fg: #1d2330; --muted: #5d6677; --card: #ffffff; --border: #d6dae1; --accent: #2457c5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171d; --fg: #e6e9ef; --muted: #9aa3b2; --card: #1d2129; --border: #333a46; --accent: #5b8cff; }
}
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px / 1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
a { color: var(--accent); }
.muted, .empty { color: var(--muted); }
table.mails { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--border); }
table.mails th, table.mails td { text-align: left; padding: 0.5rem 0.75rem; border-bottom: 1px solid var(--border); vertical-align: top; overflow-wrap: anywhere; }
table.mails td:last-child { white-space: nowrap; color: var(--muted); }
dl.headers { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.headers dt { color: var(--muted); }
dl.headers dd { margin: 0; overflow-wrap: anywhere; }
pre.body { background: var(--card); border: 1px solid var(--border); padding: 1rem; white-space: pre-wrap; overflow-wrap: anywhere; }
`;
