/**
 * The enrollment and self-management pages: server-rendered from the state of the flow behind them, every form
 * a plain POST with its CSRF token, no script. Waiting pages refresh themselves (meta refresh) for live status.
 */
import { html, type SafeHtml } from '../html.js';
import { textField } from './form-field.js';
import { csrfInput, type PortalAccount, renderLayout } from './layout.js';

export interface PageBase {
  serviceName: string;
  account: PortalAccount;
}

const METHOD_NAMES = { voice: 'Voice Call', sms: 'SMS Text' } as const;
type Method = keyof typeof METHOD_NAMES;

function page(base: PageBase, title: string, main: SafeHtml, refreshSeconds?: number): string {
  const body = refreshSeconds ? html`${main}` : main;
  const rendered = renderLayout({ title, serviceName: base.serviceName, main: body, account: base.account });
  // Waiting pages poll by reloading; the meta tag needs no script, so the CSP stays strict.
  return refreshSeconds
    ? rendered.replace('<head>', `<head>\n<meta http-equiv="refresh" content="${refreshSeconds}">`)
    : rendered;
}

const errorBox = (message: string | undefined) =>
  message ? html`<div class="alert" role="alert"><p>${message}</p></div>` : '';

export function renderChooseMethod(base: PageBase, data: { methods: Method[]; error?: string }): string {
  const options = data.methods.map(
    (method, i) => html`<div class="choice">
<input type="radio" id="method-${method}" name="method" value="${method}"${i === 0 ? html` checked` : ''}>
<label for="method-${method}">${METHOD_NAMES[method]}</label>
</div>`,
  );
  return page(
    base,
    'User Setup',
    html`<h1>User Setup</h1>
${errorBox(data.error)}
<form method="post" action="/setup/method" class="stacked-form">
${csrfInput(base.account.csrfToken)}
<fieldset>
<legend>How do you want to verify your sign-ins?</legend>
${options}
</fieldset>
<button type="submit" class="button">Continue</button>
</form>`,
  );
}

export interface DetailsData {
  method: Method;
  values: Record<string, string>;
  errors: Record<string, string>;
  /** A factor change by a user who has a PIN: the current PIN is asked first. */
  askCurrentPin: boolean;
  askPin: boolean;
  pinOptional: boolean;
  /** What a PIN must be, from the configured policy. */
  pinHint: string;
  canGoBack: boolean;
  notice?: string;
}

export function renderDetails(base: PageBase, data: DetailsData): string {
  const { values, errors } = data;
  const phoneFields =
    data.method === 'voice'
      ? html`${textField({ id: 'primary', label: 'Primary phone', type: 'tel', value: values.primary, error: errors.primary, hint: 'National or international form, for example +1 202 555 0147.', required: true, autocomplete: 'tel', inputmode: 'tel' })}
${textField({ id: 'extension', label: 'Extension (optional)', value: values.extension, error: errors.extension, inputmode: 'numeric', maxlength: 16 })}
${textField({ id: 'backup', label: 'Backup phone (optional)', type: 'tel', value: values.backup, error: errors.backup, inputmode: 'tel' })}`
      : textField({
          id: 'mobile',
          label: 'Mobile phone',
          type: 'tel',
          value: values.mobile,
          error: errors.mobile,
          hint: 'The phone that receives the text.',
          required: true,
          autocomplete: 'tel',
          inputmode: 'tel',
        });
  const currentPinField = data.askCurrentPin
    ? textField({
        id: 'currentPin',
        label: 'Current PIN',
        type: 'password',
        error: errors.currentPin,
        hint: 'Changing how you sign in needs your current PIN.',
        required: true,
        inputmode: 'numeric',
        autocomplete: 'current-password',
        maxlength: 12,
      })
    : '';
  const pinFields = data.askPin
    ? html`${textField({ id: 'pin', label: data.pinOptional ? 'New PIN (optional: keep your PIN)' : 'PIN', type: 'password', error: errors.pin, hint: data.pinHint, required: !data.pinOptional, inputmode: 'numeric', autocomplete: 'new-password', maxlength: 12 })}
${textField({ id: 'pinConfirm', label: 'Confirm PIN', type: 'password', error: errors.pinConfirm, required: !data.pinOptional, inputmode: 'numeric', autocomplete: 'new-password', maxlength: 12 })}`
    : '';
  const button = data.method === 'voice' ? 'Call Me Now to Authenticate' : 'Text Me Now to Authenticate';
  return page(
    base,
    METHOD_NAMES[data.method],
    html`<h1>${METHOD_NAMES[data.method]}</h1>
${errorBox(data.notice)}
<form method="post" action="/setup/details" class="stacked-form" novalidate>
${csrfInput(base.account.csrfToken)}
${currentPinField}
${phoneFields}
${pinFields}
<button type="submit" class="button">${button}</button>
</form>
${data.canGoBack ? backForm(base) : ''}`,
  );
}

function backForm(base: PageBase): SafeHtml {
  return html`<form method="post" action="/setup/back" class="inline-form">
${csrfInput(base.account.csrfToken)}
<button type="submit" class="button button--quiet">Back</button>
</form>`;
}

export function renderQuestionChallenge(
  base: PageBase,
  data: { questions: { id: string; text: string }[]; error?: string },
): string {
  return page(
    base,
    'Security questions',
    html`<h1>Answer your security questions</h1>
${errorBox(data.error)}
<form method="post" action="/verify/questions" class="stacked-form">
${csrfInput(base.account.csrfToken)}
${data.questions.map(
  (q, i) => html`<input type="hidden" name="question${i}" value="${q.id}">
${textField({ id: `answer${i}`, label: q.text, required: true, maxlength: 100 })}`,
)}
<button type="submit" class="button">Verify</button>
</form>
<p><a href="/verify">Use my phone instead</a></p>`,
  );
}

export interface WaitingData {
  method: Method;
  status: string;
  /** Voice: 'calling' or 'answered' while pending. */
  progress?: string;
  /** Why a verification failed. */
  reason?: string;
  /** One-way texts: the code is typed here. */
  codeEntry: boolean;
  /** Voice code mode: the digits to key on the phone. */
  showCode?: string;
  error?: string;
  action: string;
  title: string;
  /** Said before the instructions (why this call or text). */
  intro?: string;
  /** Offer the security questions instead (when configuration allows it). */
  questionsLink?: boolean;
}

const STATUS_TEXT: Record<string, string> = {
  pending: 'Waiting for you to answer…',
  approved: 'Verified.',
  failed: 'Verification failed.',
  expired: 'The code expired.',
  fraud: 'Reported as fraud: sign-in blocked.',
  canceled: 'Canceled.',
};

const PROGRESS_TEXT: Record<string, string> = {
  calling: 'Calling you…',
  answered: 'Call answered: follow the prompts.',
};

function statusText(data: WaitingData): string {
  if (data.status === 'pending' && data.progress) return PROGRESS_TEXT[data.progress] ?? STATUS_TEXT.pending!;
  const text = STATUS_TEXT[data.status] ?? data.status;
  return data.reason && data.status !== 'approved' ? `${text} (${data.reason})` : text;
}

export function renderWaiting(base: PageBase, data: WaitingData): string {
  const instructions =
    data.method === 'voice'
      ? 'We are calling you now. Answer, enter your PIN (or the code below) and press #.'
      : data.codeEntry
        ? 'We sent you a text. Type the code from the text below, followed by your PIN if you have one.'
        : 'We sent you a text. Reply to it with the code, followed by your PIN if you have one.';
  return page(
    base,
    data.title,
    html`<h1>${data.title}</h1>
${data.intro ? html`<p>${data.intro}</p>` : ''}
<p>${instructions}</p>
${data.showCode ? html`<p class="code-display">Code to key: <strong>${data.showCode}</strong></p>` : ''}
<p class="status" role="status" aria-live="polite">Status: <strong>${statusText(data)}</strong></p>
${errorBox(data.error)}
${
  data.codeEntry
    ? html`<form method="post" action="${data.action}/code" class="stacked-form">
${csrfInput(base.account.csrfToken)}
${textField({ id: 'code', label: 'Code', inputmode: 'numeric', required: true, autocomplete: 'one-time-code', maxlength: 24 })}
<button type="submit" class="button">Verify</button>
</form>`
    : html`<p><a class="button" href="${data.action}">Check now</a></p>`
}
${data.questionsLink ? html`<p><a href="/verify/questions">Answer your security questions instead</a></p>` : ''}
<form method="post" action="${data.action}/restart" class="inline-form">
${csrfInput(base.account.csrfToken)}
<button type="submit" class="button button--quiet">Start again</button>
</form>`,
    data.codeEntry ? undefined : 2,
  );
}

export interface QuestionsData {
  questions: { id: string; text: string }[];
  count: number;
  values: Record<string, string>;
  errors: Record<string, string>;
  error?: string;
}

export function renderQuestions(base: PageBase, data: QuestionsData): string {
  const rows = Array.from({ length: data.count }, (_, i) => {
    const selected = data.values[`question${i}`] ?? data.questions[i]?.id ?? '';
    return html`<fieldset class="question">
<legend>Question ${i + 1}</legend>
<div class="field${data.errors[`question${i}`] ? ' field--error' : ''}">
<label for="question${i}">Question</label>
${data.errors[`question${i}`] ? html`<p class="field-error" id="question${i}-error">${data.errors[`question${i}`]}</p>` : ''}
<select id="question${i}" name="question${i}">
${data.questions.map((q) => html`<option value="${q.id}"${q.id === selected ? html` selected` : ''}>${q.text}</option>`)}
</select>
</div>
${textField({ id: `answer${i}`, label: 'Answer', value: data.values[`answer${i}`], error: data.errors[`answer${i}`], required: true, maxlength: 100 })}
</fieldset>`;
  });
  return page(
    base,
    'Security Questions',
    html`<h1>Security Questions</h1>
<p>Choose ${data.count} different questions and answer them. Answers are not case-sensitive.</p>
${errorBox(data.error)}
<form method="post" action="/setup/questions" class="stacked-form">
${csrfInput(base.account.csrfToken)}
${rows}
<button type="submit" class="button">Save and finish</button>
</form>`,
  );
}

export interface HomeData {
  displayName: string;
  method: string;
  phones: { label: string; value: string }[];
  hasQuestions: boolean;
  notice?: string;
  allow: { phone: boolean; pin: boolean; method: boolean; questions: boolean };
}

export function renderHome(base: PageBase, data: HomeData): string {
  const action = (
    path: string,
    label: string,
  ) => html`<form method="post" action="${path}" class="inline-form">
${csrfInput(base.account.csrfToken)}
<button type="submit" class="button button--quiet">${label}</button>
</form>`;
  return page(
    base,
    'Your account',
    html`<h1>Your account</h1>
${data.notice ? html`<div class="alert alert--ok" role="status"><p>${data.notice}</p></div>` : ''}
<p>Welcome, ${data.displayName}.</p>
<dl class="settings">
<dt>Method</dt><dd>${data.method}</dd>
${data.phones.map((p) => html`<dt>${p.label}</dt><dd>${p.value}</dd>`)}
<dt>Security questions</dt><dd>${data.hasQuestions ? 'Answered' : 'Not set'}</dd>
</dl>
<h2>Change your settings</h2>
<ul class="actions">
${data.allow.phone ? html`<li>${action('/manage/phone', 'Change phone numbers')}</li>` : ''}
${data.allow.pin ? html`<li><a class="button button--quiet" href="/manage/pin">Change PIN</a></li>` : ''}
${data.allow.method ? html`<li>${action('/manage/method', 'Change method')}</li>` : ''}
${data.allow.questions ? html`<li>${action('/manage/questions', 'Change security questions')}</li>` : ''}
</ul>`,
  );
}

export function renderPinChange(
  base: PageBase,
  data: { errors: Record<string, string>; askCurrent: boolean; pinHint: string },
): string {
  return page(
    base,
    'Change PIN',
    html`<h1>Change PIN</h1>
<form method="post" action="/manage/pin" class="stacked-form" novalidate>
${csrfInput(base.account.csrfToken)}
${data.askCurrent ? textField({ id: 'currentPin', label: 'Current PIN', type: 'password', error: data.errors.currentPin, required: true, inputmode: 'numeric', autocomplete: 'current-password', maxlength: 12 }) : ''}
${textField({ id: 'pin', label: 'New PIN', type: 'password', error: data.errors.pin, hint: data.pinHint, required: true, inputmode: 'numeric', autocomplete: 'new-password', maxlength: 12 })}
${textField({ id: 'pinConfirm', label: 'Confirm new PIN', type: 'password', error: data.errors.pinConfirm, required: true, inputmode: 'numeric', autocomplete: 'new-password', maxlength: 12 })}
<button type="submit" class="button">Change PIN</button>
</form>
<p><a href="/">Back to your account</a></p>`,
  );
}
