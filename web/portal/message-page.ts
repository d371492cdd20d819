/** A page that only says something: a refused form, an error. One heading, one paragraph, one way on. */
import { html } from '../html.js';
import { type PortalAccount, renderLayout } from './layout.js';

export interface MessagePageData {
  serviceName: string;
  title: string;
  message: string;
  /** Where to go next (a link styled as a button). */
  next?: { href: string; label: string };
  account?: PortalAccount | null;
}

export function renderMessagePage(data: MessagePageData): string {
  const main = html`<h1>${data.title}</h1>
<p>${data.message}</p>
${data.next ? html`<p><a class="button" href="${data.next.href}">${data.next.label}</a></p>\n` : ''}`;
  return renderLayout({
    title: data.title,
    serviceName: data.serviceName,
    main,
    account: data.account ?? null,
  });
}
