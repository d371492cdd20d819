import { html, type SafeHtml } from './html.js';

/** One text as the dev phone shows it (structurally a simulator message). */
export interface DevPhoneMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'outbound' | 'inbound';
  /** ISO 8601 */
  createdAt: string;
}

export interface DevPhonePageData {
  /** The number the handset texts (the engine's service number). */
  serviceNumber: string;
  /** The handset shown; absent until one is chosen. */
  number?: string;
  /** The value to put back in the number field (what was typed, after an error). Defaults to `number`. */
  numberInput?: string;
  /** The handset's texts, oldest first (rendered in the order given). */
  messages?: readonly DevPhoneMessage[];
  /** A problem to show (bad number, empty reply...). */
  error?: string;
  /** Reply text to put back after an error. */
  replyBody?: string;
  /** Reload every 3 s while a number is shown (default true); off lets one type a long reply undisturbed. */
  autoRefresh?: boolean;
}

export const DEV_PHONE_PATH = '/dev/phone';
export const DEV_PHONE_REPLY_PATH = '/dev/phone/reply';
export const DEV_PHONE_CSS_PATH = '/dev/phone.css';

/** The dev phone: server-rendered, no script, no inline style; every value escaped. */
export function renderDevPhonePage(data: DevPhonePageData): string {
  const number = data.number;
  const autoRefresh = data.autoRefresh !== false;
  const title = number ? `Dev phone ${number}` : 'Dev phone';
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${number && autoRefresh ? html`<meta http-equiv="refresh" content="3">\n` : ''}<title>${title}</title>
<link rel="stylesheet" href="${DEV_PHONE_CSS_PATH}">
</head>
<body>
<main>
<h1>Dev phone</h1>
<p class="muted">A simulated handset. Texts to the service number <strong>${data.serviceNumber}</strong> reach the engine as signed webhooks.</p>
${data.error ? html`<p class="error" role="alert">${data.error}</p>\n` : ''}<form method="get" action="${DEV_PHONE_PATH}">
<label for="number">Phone number</label>
<input id="number" name="number" type="tel" inputmode="tel" placeholder="+15551234567" value="${data.numberInput ?? number ?? ''}" required${number ? '' : html` autofocus`}>
<button type="submit">Open</button>
</form>
${number ? conversation(data, number, autoRefresh) : ''}</main>
</body>
</html>
`;
  return page.toString();
}

function conversation(data: DevPhonePageData, number: string, autoRefresh: boolean): SafeHtml {
  const messages = data.messages ?? [];
  const toggleHref = `${DEV_PHONE_PATH}?number=${encodeURIComponent(number)}${autoRefresh ? '&refresh=off' : ''}`;
  return html`<section aria-labelledby="conversation-title">
<h2 id="conversation-title">Conversation of ${number}</h2>
<p class="muted">${autoRefresh ? 'New texts appear every 3 seconds.' : 'Auto-refresh is paused.'} <a href="${toggleHref}">${autoRefresh ? 'Pause auto-refresh' : 'Resume auto-refresh'}</a></p>
${
  messages.length
    ? html`<ol class="conversation">
${messages.map((message) => messageItem(message, number))}</ol>
`
    : html`<p class="empty">No texts yet.</p>
`
}<form method="post" action="${DEV_PHONE_REPLY_PATH}">
<input type="hidden" name="number" value="${number}">
${autoRefresh ? '' : html`<input type="hidden" name="refresh" value="off">\n`}<label for="body">Reply</label>
<input id="body" name="body" type="text" maxlength="1600" autocomplete="off" required autofocus value="${data.replyBody ?? ''}">
<button type="submit">Send</button>
</form>
</section>
`;
}

function messageItem(message: DevPhoneMessage, number: string): SafeHtml {
  const sent = message.from === number;
  const party = sent ? `To ${message.to}` : `From ${message.from}`;
  return html`<li class="message message--${sent ? 'sent' : 'received'}" id="${message.sid}">
<span class="bubble">${message.body}</span>
<span class="meta">${party} · <time datetime="${message.createdAt}">${formatTime(message.createdAt)}</time> · <span class="status">${message.status}</span></span>
</li>
`;
}

/** `2026-01-01 09:30:05 UTC`: deterministic, whatever the server's time zone. */
function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
