/**
 * TLS for the directory connection: `ldaps://` (TLS from the first byte) or StartTLS (RFC 4511 4.14) on an
 * `ldap://` connection before any bind. The server's certificate is checked against `ca` (the PEM of
 * LDAP_CA_FILE) or Node's trusted CAs, and its name against the URL's host; a certificate that does not pass
 * refuses the connection (the directory is then `unavailable`, never used in cleartext).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type ldap from 'ldapjs';

export interface LdapTlsSettings {
  /** Upgrade an `ldap://` connection with StartTLS before anything else is sent. */
  startTls?: boolean;
  /** PEM file of the CA certificate(s) that sign the directory's certificate. */
  caFile?: string;
}

/** The options Node's `tls.connect` gets for this URL; `undefined` for a cleartext URL without StartTLS. */
export function ldapTlsOptions(url: string, settings: LdapTlsSettings): ConnectionOptions | undefined {
  const secure = /^ldaps:\/\//i.test(url);
  if (!secure && !settings.startTls) return undefined;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return {
    // SNI carries names only (RFC 6066); `host` is what the certificate is checked against either way.
    host,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(settings.caFile ? { ca: readFileSync(settings.caFile, 'utf8') } : {}),
  };
}

/** Runs StartTLS on a connected client; rejects when the server refuses it or its certificate fails. */
export function startTls(client: ldap.Client, options: ConnectionOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    // ldapjs hands `options` to tls.connect with the plain socket added: a copy, so the original stays clean.
    client.starttls({ ...options }, [], (error: Error | null) => (error ? reject(error) : resolve()));
  });
}
