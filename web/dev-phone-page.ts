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

/** One line of a call's transcript (structurally a simulator transcript entry). */
export interface DevPhoneTranscriptLine {
  who: 'engine' | 'caller' | 'carrier';
  text: string;
  language?: string;
}

/** One call as the dev phone shows it (structurally a simulator call view). */
export interface DevPhoneCall {
  sid: string;
  from: string;
  to: string;
  status: string;
  transcript: readonly DevPhoneTranscriptLine[];
  gathering: boolean;
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
  /** The handset's calls, newest first; absent when the simulator has no calls (then no call section). */
  calls?: readonly DevPhoneCall[];
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
/** Form posts acting on a call: `${DEV_PHONE_CALL_PATH}/<sid>/<action>`. */
export const DEV_PHONE_CALL_PATH = '/dev/phone/call';
export const DEV_PHONE_CALL_ACTIONS = ['answer', 'decline', 'keys', 'hangup', 'silence'] as const;
export type DevPhoneCallAction = (typeof DEV_PHONE_CALL_ACTIONS)[number];

export function devPhoneCallActionPath(sid: string, action: DevPhoneCallAction): string {
  return `${DEV_PHONE_CALL_PATH}/${encodeURIComponent(sid)}/${action}`;
}

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
${number && data.calls ? callsSection(data.calls, number, autoRefresh) : ''}${number ? conversation(data, number, autoRefresh) : ''}</main>
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

const RINGING = new Set(['queued', 'ringing']);
const KEYPAD: readonly { key: string; label: string }[] = [
  ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((key) => ({ key, label: `Key ${key}` })),
  { key: '*', label: 'Key star' },
  { key: '0', label: 'Key 0' },
  { key: '#', label: 'Key pound' },
];

function callsSection(calls: readonly DevPhoneCall[], number: string, autoRefresh: boolean): SafeHtml {
  return html`<section aria-labelledby="calls-title">
<h2 id="calls-title">Calls to ${number}</h2>
${
  calls.length
    ? html`<ol class="calls">
${calls.map((call) => callItem(call, number, autoRefresh))}</ol>
`
    : html`<p class="empty">No calls yet.</p>
`
}</section>
`;
}

/** The hidden fields every call form carries: where to come back to. */
function backFields(number: string, autoRefresh: boolean): SafeHtml {
  return html`<input type="hidden" name="number" value="${number}">
${autoRefresh ? '' : html`<input type="hidden" name="refresh" value="off">\n`}`;
}

function callButton(
  call: DevPhoneCall,
  action: DevPhoneCallAction,
  label: string,
  back: SafeHtml,
  variant = '',
): SafeHtml {
  return html`<form method="post" action="${devPhoneCallActionPath(call.sid, action)}" class="call__action">
${back}<button type="submit"${variant ? html` class="${variant}"` : ''}>${label}</button>
</form>
`;
}

function callItem(call: DevPhoneCall, number: string, autoRefresh: boolean): SafeHtml {
  const back = backFields(number, autoRefresh);
  const party = call.from === number ? `To ${call.to}` : `From ${call.from}`;
  const ringing = RINGING.has(call.status);
  const live = call.status === 'in-progress';
  const state = ringing ? 'ringing' : live ? 'live' : 'ended';
  const header = html`<p class="call__header"><strong>${ringing ? 'Incoming call' : 'Call'}</strong> ${party} · <time datetime="${call.createdAt}">${formatTime(call.createdAt)}</time> · <span class="status">${call.status}</span></p>
`;
  if (ringing) {
    return html`<li class="call call--ringing" id="${call.sid}">
${header}<div class="call__actions">
${callButton(call, 'answer', 'Answer', back)}${callButton(call, 'decline', 'Decline', back, 'button--danger')}</div>
</li>
`;
  }
  if (live) {
    return html`<li class="call call--${state}" id="${call.sid}">
${header}${transcript(call)}<p class="muted">${call.gathering ? 'The service is waiting for keys.' : 'The service is not listening for keys.'}</p>
<form method="post" action="${devPhoneCallActionPath(call.sid, 'keys')}" class="keypad" aria-label="Keypad">
${back}${KEYPAD.map(({ key, label }) => html`<button type="submit" name="key" value="${key}" aria-label="${label}">${key}</button>\n`)}</form>
<div class="call__actions">
${callButton(call, 'silence', 'Stay silent', back, 'button--quiet')}${callButton(call, 'hangup', 'Hang up', back, 'button--danger')}</div>
</li>
`;
  }
  return html`<li class="call call--${state}" id="${call.sid}">
${header}${
  call.transcript.length
    ? html`<details>
<summary>Transcript</summary>
${transcript(call)}</details>
`
    : ''
}</li>
`;
}

const SPEAKERS: Record<DevPhoneTranscriptLine['who'], string> = {
  engine: 'Service',
  caller: 'You',
  carrier: 'Network',
};

function transcript(call: DevPhoneCall): SafeHtml {
  if (call.transcript.length === 0) return html`<p class="empty">Nothing said yet.</p>\n`;
  return html`<ol class="transcript">
${call.transcript.map(
  (line) =>
    html`<li class="transcript__line transcript__line--${line.who}"${line.language ? html` lang="${line.language}"` : ''}><span class="transcript__who">${SPEAKERS[line.who] ?? line.who}</span> ${line.text}</li>
`,
)}</ol>
`;
}

/** `2026-01-01 09:30:05 UTC`: deterministic, whatever the server's time zone. */
function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
