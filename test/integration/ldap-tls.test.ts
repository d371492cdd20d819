/**
 * The directory over TLS against a real slapd that refuses every operation outside TLS (`security tls=1`) and
 * presents a certificate made by a CA generated here: StartTLS and ldaps:// work when the CA is trusted
 * (LDAP_CA_FILE), and the client refuses the server when it is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Directory } from '../../src/directory/directory.js';
import { createLdapDirectory, type LdapDirectoryOptions } from '../../src/directory/ldap-directory.js';
import { startTestSlapd, type TestSlapd, USERS } from '../support/slapd-server.js';
import { createTestCa, type TestCa } from '../support/tls-certificates.js';

type Line = { level: string; o: object; m?: string };
const lines: Line[] = [];
const at = (level: string) => (o: object, m?: string) => void lines.push({ level, o, m });
const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };

let ca: TestCa;
let otherCa: TestCa;
let slapd: TestSlapd;
const directories: Directory[] = [];

function directory(overrides: Partial<LdapDirectoryOptions>): Directory {
  const made = createLdapDirectory({ ...slapd.config, ...overrides }, logger);
  directories.push(made);
  return made;
}

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createTestCa('Dialtone Test CA'), createTestCa('Someone Else CA')]);
  const server = await ca.issue('slapd', ['127.0.0.1']);
  slapd = await startTestSlapd({ tls: { ...server, caFile: ca.certFile, require: true } });
});

afterAll(async () => {
  await Promise.all(directories.map((d) => d.close()));
  await slapd?.stop();
  await Promise.all([ca?.remove(), otherCa?.remove()]);
});

describe('directory over TLS', () => {
  it('binds over StartTLS when the CA is trusted (the server refuses anything in cleartext)', async () => {
    const tls = directory({ startTls: true, caFile: ca.certFile });
    const result = await tls.authenticate(USERS.jdoe.uid, USERS.jdoe.password);
    expect(result).toMatchObject({
      ok: true,
      user: { username: 'jdoe', displayName: USERS.jdoe.displayName },
    });
    expect(await tls.check()).toMatchObject({ ok: true });
    // The wrong password is still just wrong (the TLS layer changes nothing above it).
    expect(await tls.authenticate(USERS.jdoe.uid, 'not the password')).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
  });

  it('binds over ldaps:// when the CA is trusted', async () => {
    const ldaps = directory({ url: slapd.ldapsUrl!, caFile: ca.certFile });
    expect(await ldaps.authenticate(USERS.jose.uid, USERS.jose.password)).toMatchObject({ ok: true });
  });

  it('the same server in cleartext is refused by the server, so the binds above went over TLS', async () => {
    const plain = directory({});
    lines.length = 0;
    expect(await plain.authenticate(USERS.jdoe.uid, USERS.jdoe.password)).toEqual({
      ok: false,
      reason: 'unavailable',
    });
    expect(JSON.stringify(lines)).toContain('"ldapCode":13'); // confidentialityRequired
  });

  it('refuses a server whose certificate it does not trust (no CA file, another CA), for StartTLS and ldaps', async () => {
    const cases = [
      directory({ startTls: true }),
      directory({ startTls: true, caFile: otherCa.certFile }),
      directory({ url: slapd.ldapsUrl!, caFile: otherCa.certFile }),
    ];
    for (const untrusting of cases) {
      lines.length = 0;
      expect(await untrusting.authenticate(USERS.jdoe.uid, USERS.jdoe.password)).toEqual({
        ok: false,
        reason: 'unavailable',
      });
      const why = JSON.stringify(lines);
      expect(why).toMatch(/certificate/i);
      expect(why).not.toContain(USERS.jdoe.password);
      expect((await untrusting.check()).ok).toBe(false);
    }
  });

  it('refuses StartTLS on an ldaps:// URL as a configuration mistake', () => {
    expect(() =>
      createLdapDirectory({ ...slapd.config, url: slapd.ldapsUrl!, startTls: true }, logger),
    ).toThrow(/StartTLS/);
  });
});
