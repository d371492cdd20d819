/**
 * The demo directory of `npm start`: a private OpenLDAP in `<dataDir>/ldap`, wiped and reseeded from
 * `demo-users.ldif` at every start (it is a demo: nothing in it is meant to last), on a free loopback port.
 * The engine searches it as a read-only service account, as it would a real directory.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LdapDirectoryOptions } from './ldap-directory.js';
import { readOnlyServiceAcl, startSlapd } from './slapd-process.js';

export const DEMO_SUFFIX = 'dc=example,dc=com';
export const DEMO_SERVICE_DN = 'cn=mfa-service,ou=services,dc=example,dc=com';
/** Matches demo-users.ldif. */
export const DEMO_SERVICE_PASSWORD = 'mfa-service-password';
export const DEMO_ALLOWED_GROUP_DN = 'cn=mfa-users,ou=groups,dc=example,dc=com';
export const DEMO_LDIF_URL = new URL('./demo-users.ldif', import.meta.url);

export interface DemoDirectoryLogger {
  info(o: object, m?: string): void;
}

export interface DemoDirectory {
  /** The `createLdapDirectory` options for the demo directory. */
  config: LdapDirectoryOptions;
  stop(): Promise<void>;
}

export async function startDemoDirectory(
  dataDir: string,
  logger: DemoDirectoryLogger,
): Promise<DemoDirectory> {
  const dir = path.join(path.resolve(dataDir), 'ldap');
  await rm(dir, { recursive: true, force: true });
  const ldif = await readFile(DEMO_LDIF_URL, 'utf8');
  const slapd = await startSlapd({
    dir,
    suffix: DEMO_SUFFIX,
    rootDn: `cn=admin,${DEMO_SUFFIX}`,
    // Only the seeding uses the root account: a new random password each start, never shown.
    rootPassword: randomBytes(24).toString('hex'),
    ldif,
    acl: readOnlyServiceAcl(DEMO_SERVICE_DN),
  });
  logger.info(
    { url: slapd.url, dir, baseDn: DEMO_SUFFIX, allowedGroupDn: DEMO_ALLOWED_GROUP_DN },
    'demo directory: OpenLDAP started and seeded from demo-users.ldif ' +
      '(users alice, bob, jose, maria, wei in mfa-users, eve outside it; password <user>-password)',
  );
  return {
    config: {
      url: slapd.url,
      baseDn: DEMO_SUFFIX,
      bindDn: DEMO_SERVICE_DN,
      bindPassword: DEMO_SERVICE_PASSWORD,
      usernameAttribute: 'uid',
      allowedGroupDn: DEMO_ALLOWED_GROUP_DN,
    },
    stop: () => slapd.stop(),
  };
}
