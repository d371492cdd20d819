/**
 * The sign-in page: two labelled fields, browser validation (`required`), errors announced (`role="alert"`) and
 * tied to the fields (`aria-describedby`, `aria-invalid`). Works without JavaScript.
 *
 * The credential failure is one generic message whatever went wrong, and the page then does not put the
 * username back: the answer to an unknown user and to a wrong password must be the same page, byte for byte.
 */
import { html, type SafeHtml } from '../html.js';
import { csrfInput, LOGIN_PATH, renderLayout } from './layout.js';

export interface LoginPageData {
  serviceName: string;
  csrfToken: string;
  /** Put back in the username field (only when no credential check happened, e.g. a missing password). */
  username?: string;
  /** A message about the whole form (the generic failure). */
  error?: string;
  /** Messages next to one field (a field left empty). */
  fieldErrors?: { username?: string; password?: string };
}

/** What every refused sign-in says: unknown user, wrong password, blocked account, too many attempts. */
export const LOGIN_FAILED_MESSAGE =
  'The username or password is not right, or sign-in is paused after too many attempts. ' +
  'Check them and try again in a few minutes.';
/** What a directory outage says: nothing about the account, only that no password can be checked now. */
export const LOGIN_UNAVAILABLE_MESSAGE =
  'Sign-in is not available right now. Please try again in a few minutes.';

export const USERNAME_MAX_LENGTH = 256;
export const PASSWORD_MAX_LENGTH = 1024;

export function renderLoginPage(data: LoginPageData): string {
  const fieldErrors = data.fieldErrors ?? {};
  const formError = data.error ? 'login-error' : '';
  const main = html`<h1>Sign in</h1>
<p>Use your company username and password.</p>
${data.error ? html`<div class="alert" role="alert" id="login-error"><p>${data.error}</p></div>\n` : ''}<form method="post" action="${LOGIN_PATH}" class="stacked-form">
${csrfInput(data.csrfToken)}
${field({
  id: 'username',
  label: 'Username',
  error: fieldErrors.username,
  describedBy: formError,
  attributes: html`type="text" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="${USERNAME_MAX_LENGTH}" value="${data.username ?? ''}"${fieldErrors.password && !fieldErrors.username ? '' : html` autofocus`}`,
})}
${field({
  id: 'password',
  label: 'Password',
  error: fieldErrors.password,
  describedBy: formError,
  attributes: html`type="password" autocomplete="current-password" maxlength="${PASSWORD_MAX_LENGTH}"${fieldErrors.password && !fieldErrors.username ? html` autofocus` : ''}`,
})}
<button type="submit" class="button">Sign in</button>
</form>`;
  return renderLayout({ title: 'Sign in', serviceName: data.serviceName, main });
}

function field(options: {
  id: string;
  label: string;
  error: string | undefined;
  describedBy: string;
  attributes: SafeHtml;
}): SafeHtml {
  const errorId = options.error ? `${options.id}-error` : '';
  const describedBy = [errorId, options.describedBy].filter(Boolean).join(' ');
  return html`<div class="field${options.error ? ' field--error' : ''}">
<label for="${options.id}">${options.label}</label>
${options.error ? html`<p class="field-error" id="${errorId}"><span class="visually-hidden">Error: </span>${options.error}</p>\n` : ''}<input id="${options.id}" name="${options.id}" ${options.attributes} required${describedBy ? html` aria-describedby="${describedBy}"` : ''}${options.error || options.describedBy ? html` aria-invalid="true"` : ''}>
</div>`;
}
