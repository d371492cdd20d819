/**
 * A throw-away OpenLDAP for tests: `startSlapd` in a temporary folder on a free loopback port, seeded with
 * TEST_LDIF. The engine's service account (SERVICE_DN) is read-only through a real slapd ACL
 * (`readOnlyServiceAcl`): it reads and searches every entry but no userPassword and may write nothing; the
 * rootdn only seeds. `stop()` terminates slapd and removes the folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LdapDirectoryOptions } from '../../src/directory/ldap-directory.js';
import { readOnlyServiceAcl, type SlapdTls, startSlapd } from '../../src/directory/slapd-process.js';

export const SUFFIX = 'dc=test,dc=local';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PASSWORD = 'root-secret';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const SERVICE_DN = `cn=mfa-reader,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'reader-password';
/** groupOfNames (`member`). */
export const GROUP_DN = `cn=mfa-users,ou=groups,${SUFFIX}`;
/** groupOfUniqueNames (`uniqueMember`), with jdoe only. */
export const VPN_GROUP_DN = `cn=vpn-users,ou=groups,${SUFFIX}`;

/** The DN of the user whose name holds `,`, `+`, `\`, `*`, `(`, `)` — escaped as slapd writes it back. */
export const SPECIAL_DN = `cn=O'Brien\\2C Pat (IT) \\2B \\5Cops\\5C *,${PEOPLE}`;
/** The same DN escaped differently (as a group's `member` value): the server must match them as equal. */
const SPECIAL_DN_OTHER_ESCAPES = `cn=O'Brien\\, Pat (IT) \\+ \\\\ops\\\\ *,${PEOPLE}`;

export interface TestUser {
  uid: string;
  password: string;
  cn: string;
  displayName?: string;
  mail?: string;
  telephoneNumber?: string;
  mobile?: string;
  preferredLanguage?: string;
  /** Defaults to `uid=<uid>,ou=people,...`. */
  dn?: string;
  inGroup: boolean;
}

export const USERS = {
  jdoe: {
    uid: 'jdoe',
    password: 'correct horse battery staple',
    cn: 'John Doe',
    displayName: 'John Q. Doe',
    mail: 'jdoe@test.local',
    telephoneNumber: '+12025550141',
    mobile: '+12025550142',
    preferredLanguage: 'en',
    inGroup: true,
  },
  jose: {
    uid: 'jose',
    password: 'contraseña-ñandú',
    cn: 'José Núñez',
    displayName: 'José Núñez Peña',
    mail: 'jose.nunez@test.local',
    mobile: '+34600000001',
    preferredLanguage: 'es',
    inGroup: true,
  },
  dmitrij: {
    uid: 'dmitrij',
    password: 'пароль-Дмитрия',
    cn: 'Дмитрий Иванов',
    displayName: 'Дмитрий Иванович Иванов',
    mobile: '+12025550143',
    preferredLanguage: 'ru',
    inGroup: true,
  },
  yamada: {
    uid: 'yamada',
    password: '山田のパスワード',
    cn: '山田太郎',
    displayName: '山田 太郎',
    telephoneNumber: '+81312345678',
    preferredLanguage: 'ja',
    inGroup: true,
  },
  /** A non-Latin uid. */
  ivan: {
    uid: 'иван',
    password: 'ivan-password',
    cn: 'Иван Петров',
    inGroup: true,
  },
  obrien: {
    uid: 'obrien',
    password: 'obrien-password',
    cn: "O'Brien, Pat (IT) + \\ops\\ *",
    displayName: "O'Brien, Pat (IT) + \\ops\\ * [a=b; c<d>e #1]",
    dn: SPECIAL_DN,
    inGroup: true,
  },
  /** No displayName, mail, phones or language: displayName falls back to cn, the rest is null. */
  plain: {
    uid: 'plain',
    password: 'plain-password',
    cn: 'Plain User',
    inGroup: true,
  },
  /** The target a filter injection would hit. */
  admin: {
    uid: 'admin',
    password: 'admin-password',
    cn: 'Directory Admin',
    inGroup: true,
  },
  outsider: {
    uid: 'outsider',
    password: 'outsider-password',
    cn: 'Out Sider',
    displayName: 'Out Sider',
    inGroup: false,
  },
} satisfies Record<string, TestUser>;

/** `uid=twin` exists twice (people and contractors): a login must never pick one of them. */
export const TWIN_PASSWORD = 'twin-password';

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** One LDIF line, base64 (`attr:: ...`) when the value is not plain ASCII or starts with a special character. */
function line(attribute: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: LDIF SAFE-STRING excludes control characters
  const safe = /^[\x01-\x09\x0B\x0C\x0E-\x1F\x21-\x39\x3B\x3D-\x7F][\x01-\x09\x0B\x0C\x0E-\x7F]*$/;
  return safe.test(value) && !value.endsWith(' ') ? `${attribute}: ${value}` : `${attribute}:: ${b64(value)}`;
}

function userDn(user: TestUser): string {
  return user.dn ?? `uid=${user.uid},${PEOPLE}`;
}

function userEntry(user: TestUser): string {
  return [
    line('dn', userDn(user)),
    'objectClass: inetOrgPerson',
    line('uid', user.uid),
    line('cn', user.cn),
    line('sn', user.cn.split(' ').at(-1) ?? user.cn),
    ...(user.displayName === undefined ? [] : [line('displayName', user.displayName)]),
    ...(user.mail === undefined ? [] : [line('mail', user.mail)]),
    ...(user.telephoneNumber === undefined ? [] : [line('telephoneNumber', user.telephoneNumber)]),
    ...(user.mobile === undefined ? [] : [line('mobile', user.mobile)]),
    ...(user.preferredLanguage === undefined ? [] : [line('preferredLanguage', user.preferredLanguage)]),
    line('userPassword', user.password),
  ].join('\n');
}

export function testLdif(): string {
  const users: TestUser[] = Object.values(USERS);
  const members = users
    .filter((u) => u.inGroup)
    .map((u) => (u === USERS.obrien ? SPECIAL_DN_OTHER_ESCAPES : userDn(u)));
  const entries = [
    [`dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Test', 'dc: test'].join('\n'),
    ...['people', 'contractors', 'groups', 'services'].map((ou) =>
      [`dn: ou=${ou},${SUFFIX}`, 'objectClass: organizationalUnit', `ou: ${ou}`].join('\n'),
    ),
    [
      `dn: ${SERVICE_DN}`,
      'objectClass: applicationProcess',
      'objectClass: simpleSecurityObject',
      'cn: mfa-reader',
      `userPassword: ${SERVICE_PASSWORD}`,
    ].join('\n'),
    ...users.map(userEntry),
    ...['people', 'contractors'].map((ou) =>
      userEntry({
        uid: 'twin',
        password: TWIN_PASSWORD,
        cn: `Twin ${ou}`,
        dn: `uid=twin,ou=${ou},${SUFFIX}`,
        inGroup: true,
      }),
    ),
    [
      `dn: ${GROUP_DN}`,
      'objectClass: groupOfNames',
      'cn: mfa-users',
      ...members.map((dn) => line('member', dn)),
      line('member', `uid=twin,ou=people,${SUFFIX}`),
      line('member', `uid=twin,ou=contractors,${SUFFIX}`),
    ].join('\n'),
    [
      `dn: ${VPN_GROUP_DN}`,
      'objectClass: groupOfUniqueNames',
      'cn: vpn-users',
      line('uniqueMember', userDn(USERS.jdoe)),
    ].join('\n'),
  ];
  return `${entries.join('\n\n')}\n`;
}

export interface TestSlapd {
  url: string;
  port: number;
  /** Set when started with `tls`. */
  ldapsUrl?: string;
  dir: string;
  /** createLdapDirectory options for this server (service account, `uid`, GROUP_DN, 2 s timeouts). */
  config: LdapDirectoryOptions;
  stop(): Promise<void>;
}

export async function startTestSlapd(options: { tls?: SlapdTls } = {}): Promise<TestSlapd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-slapd-'));
  try {
    const slapd = await startSlapd({
      dir,
      suffix: SUFFIX,
      rootDn: ROOT_DN,
      rootPassword: ROOT_PASSWORD,
      ldif: testLdif(),
      acl: readOnlyServiceAcl(SERVICE_DN),
      ...(options.tls ? { tls: options.tls } : {}),
    });
    let stopping: Promise<void> | undefined;
    return {
      url: slapd.url,
      port: slapd.port,
      ...(slapd.ldapsUrl ? { ldapsUrl: slapd.ldapsUrl } : {}),
      dir,
      config: {
        url: slapd.url,
        baseDn: SUFFIX,
        bindDn: SERVICE_DN,
        bindPassword: SERVICE_PASSWORD,
        usernameAttribute: 'uid',
        allowedGroupDn: GROUP_DN,
        timeoutMs: 2000,
      },
      stop() {
        stopping ??= (async () => {
          await slapd.stop();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
