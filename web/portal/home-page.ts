/** The signed-in landing page: for now, who is signed in and how to sign out (enrollment pages come next). */
import { html } from '../html.js';
import { renderLayout, signOutForm } from './layout.js';

export interface HomePageData {
  serviceName: string;
  username: string;
  displayName?: string;
  csrfToken: string;
}

export function renderHomePage(data: HomePageData): string {
  const main = html`<h1>Your account</h1>
<p>Signed in as <strong>${data.username}</strong>${data.displayName && data.displayName !== data.username ? html` (${data.displayName})` : ''}.</p>
${signOutForm(data.csrfToken)}`;
  return renderLayout({ title: 'Your account', serviceName: data.serviceName, main });
}
