/**
 * The portal's page shell: one stylesheet, no script, no inline style (the CSP allows neither), a skip link, a
 * header with the signed-in user and a sign-out button, and `<main>`. Every page of the portal renders through
 * `renderLayout`, so new pages only write their `<main>` content.
 */
import { html, type SafeHtml } from '../html.js';

export const PORTAL_CSS_PATH = '/portal.css';
export const LOGIN_PATH = '/login';
export const LOGOUT_PATH = '/logout';
export const HOME_PATH = '/';
/** The form field that carries the CSRF token on every portal POST. */
export const CSRF_FIELD = '_csrf';

export interface PortalAccount {
  username: string;
  /** The session's CSRF token, for the sign-out form. */
  csrfToken: string;
}

export interface LayoutData {
  /** The page's own title (the service name is appended). */
  title: string;
  serviceName: string;
  /** The content of `<main>`. */
  main: SafeHtml;
  /** Shown in the header with a sign-out button when someone is signed in. */
  account?: PortalAccount | null;
  /** `lang` of the page (default `en`). */
  lang?: string;
}

/** The hidden input every portal form carries. */
export function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
}

/** A one-button form posting to `/logout`. */
export function signOutForm(csrfToken: string): SafeHtml {
  return html`<form method="post" action="${LOGOUT_PATH}" class="inline-form">
${csrfInput(csrfToken)}
<button type="submit" class="button button--quiet">Sign out</button>
</form>`;
}

export function renderLayout(data: LayoutData): string {
  const account = data.account ?? null;
  return html`<!doctype html>
<html lang="${data.lang ?? 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${data.title} · ${data.serviceName}</title>
<link rel="stylesheet" href="${PORTAL_CSS_PATH}">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<p class="site-name">${data.serviceName}</p>
${
  account
    ? html`<div class="account">
<p class="account__name">Signed in as <strong>${account.username}</strong></p>
${signOutForm(account.csrfToken)}
</div>
`
    : ''
}</header>
<main id="main" tabindex="-1">
${data.main}
</main>
</body>
</html>
`.toString();
}
