import net from 'node:net';
import ldap from 'ldapjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Directory, DirectoryUnavailableError } from '../../src/directory/directory.js';
import {
  createLdapDirectory,
  type DirectoryLogger,
  type LdapDirectoryOptions,
} from '../../src/directory/ldap-directory.js';
import { findFreePort } from '../../src/redis/redis-process.js';
import {
  GROUP_DN,
  PEOPLE,
  SERVICE_DN,
  SERVICE_PASSWORD,
  SPECIAL_DN,
  startTestSlapd,
  type TestSlapd,
  TWIN_PASSWORD,
  USERS,
  VPN_GROUP_DN,
} from '../support/slapd-server.js';

type LogLine = { level: string; o: object; m?: string };

function recordingLogger(): DirectoryLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (o: object, m?: string) => void lines.push({ level, o, m });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A TCP server that accepts connections, counts them, and never answers. */
async function silentServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const BLANK_PASSWORDS = ['', ' ', '   ', '\t', '\n', ' \t\r\n ', '\u00a0', '\u3000', '\u200b', '\ufeff'];

let slapd: TestSlapd;
let log: ReturnType<typeof recordingLogger>;
let directory: Directory;
const directories: Directory[] = [];

function makeDirectory(overrides: Partial<LdapDirectoryOptions> = {}): Directory {
  const made = createLdapDirectory({ ...slapd.config, ...overrides }, log);
  directories.push(made);
  return made;
}

beforeAll(async () => {
  slapd = await startTestSlapd();
  log = recordingLogger();
  directory = makeDirectory();
});

afterAll(async () => {
  await Promise.all(directories.map((d) => d.close()));
  await slapd?.stop();
  // No password, in any log line, ever.
  const logged = JSON.stringify(log?.lines ?? []);
  for (const user of [...Object.values(USERS), { password: TWIN_PASSWORD }, { password: SERVICE_PASSWORD }]) {
    expect(logged).not.toContain(user.password);
  }
});

describe('LDAP directory: successful authentication', () => {
  it('maps the attributes and the groups', async () => {
    const result = await directory.authenticate('jdoe', USERS.jdoe.password);
    expect(result).toEqual({
      ok: true,
      user: {
        username: 'jdoe',
        dn: `uid=jdoe,${PEOPLE}`,
        displayName: 'John Q. Doe',
        email: 'jdoe@test.local',
        phone: '+12025550141',
        mobile: '+12025550142',
        language: 'en',
        groups: [GROUP_DN, VPN_GROUP_DN],
      },
    });
  });

  it('matches the username case-insensitively and returns the directory spelling', async () => {
    const result = await directory.authenticate('JDoe', USERS.jdoe.password);
    expect(result.ok && result.user.username).toBe('jdoe');
  });

  it('round-trips accents (name and password)', async () => {
    const result = await directory.authenticate('jose', USERS.jose.password);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.user.displayName).toBe('José Núñez Peña');
    expect(result.user.displayName.normalize('NFC')).toBe(result.user.displayName);
    expect(result.user).toMatchObject({
      email: 'jose.nunez@test.local',
      mobile: '+34600000001',
      phone: null,
    });
    expect(result.user.language).toBe('es');
  });

  it('round-trips Cyrillic and Japanese names and passwords', async () => {
    const dmitrij = await directory.authenticate('dmitrij', USERS.dmitrij.password);
    expect(dmitrij.ok && dmitrij.user.displayName).toBe('Дмитрий Иванович Иванов');
    const yamada = await directory.authenticate('yamada', USERS.yamada.password);
    expect(yamada.ok && yamada.user).toMatchObject({
      displayName: '山田 太郎',
      phone: '+81312345678',
      language: 'ja',
    });
  });

  it('accepts a non-Latin username', async () => {
    const result = await directory.authenticate('иван', USERS.ivan.password);
    expect(result.ok && result.user).toMatchObject({ username: 'иван', displayName: 'Иван Петров' });
  });

  it('binds as a user whose DN holds , + \\ * ( ) and finds them in the group', async () => {
    const result = await directory.authenticate('obrien', USERS.obrien.password);
    expect(result).toMatchObject({
      ok: true,
      user: { dn: SPECIAL_DN, displayName: USERS.obrien.displayName, groups: [GROUP_DN] },
    });
  });

  it('falls back to cn for the display name and null for missing attributes', async () => {
    const result = await directory.authenticate('plain', USERS.plain.password);
    expect(result).toMatchObject({
      ok: true,
      user: { displayName: 'Plain User', email: null, phone: null, mobile: null, language: null },
    });
  });

  it('uses configured attribute names', async () => {
    const custom = makeDirectory({
      attributes: { displayName: 'cn', phone: 'mobile', mobile: 'telephoneNumber' },
    });
    const result = await custom.authenticate('jdoe', USERS.jdoe.password);
    expect(result.ok && result.user).toMatchObject({
      displayName: 'John Doe',
      phone: '+12025550142',
      mobile: '+12025550141',
    });
  });
});

describe('LDAP directory: refusals', () => {
  it('refuses a wrong password, another user’s password, and a wrong-case password', async () => {
    expect(await directory.authenticate('jdoe', 'wrong')).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
    expect(await directory.authenticate('jdoe', USERS.jose.password)).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
    expect(await directory.authenticate('jdoe', USERS.jdoe.password.toUpperCase())).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
  });

  it('refuses blank and whitespace-only passwords against the live directory', async () => {
    for (const password of BLANK_PASSWORDS) {
      expect(await directory.authenticate('jdoe', password)).toEqual({
        ok: false,
        reason: 'invalid-credentials',
      });
    }
  });

  it('refuses blank passwords without any connection to the server', async () => {
    const server = await silentServer();
    try {
      const probe = makeDirectory({ url: `ldap://127.0.0.1:${server.port}`, timeoutMs: 300 });
      for (const password of BLANK_PASSWORDS) {
        const started = performance.now();
        expect(await probe.authenticate('jdoe', password)).toEqual({
          ok: false,
          reason: 'invalid-credentials',
        });
        expect(performance.now() - started).toBeLessThan(100);
      }
      expect(await probe.authenticate('', 'x')).toEqual({ ok: false, reason: 'invalid-credentials' });
      expect(await probe.authenticate('x'.repeat(10_000), 'x')).toEqual({
        ok: false,
        reason: 'invalid-credentials',
      });
      expect(await probe.authenticate('jdoe', 'p'.repeat(1025))).toEqual({
        ok: false,
        reason: 'invalid-credentials',
      });
      expect(server.connections()).toBe(0);
      // The same directory does reach the network for acceptable input (and the silent server times out).
      const started = performance.now();
      expect(await probe.authenticate('jdoe', 'not blank')).toEqual({ ok: false, reason: 'unavailable' });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(server.connections()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('treats filter metacharacters, non-Latin and huge usernames as literal values', async () => {
    const usernames = [
      '*',
      'j*',
      '*doe',
      'admin)(|(uid=*',
      'admin)(|(uid=*))',
      '*)(uid=*))(|(uid=*',
      'admin\\2a',
      '\\',
      '(',
      ')',
      'jdoe\u0000',
      'Дмитрий',
      '山田太郎',
      'x'.repeat(10 * 1024),
      'é'.repeat(10 * 1024),
    ];
    for (const username of usernames) {
      for (const password of [USERS.admin.password, USERS.jdoe.password, 'anything']) {
        expect(
          await directory.authenticate(username, password),
          JSON.stringify(username.slice(0, 40)),
        ).toEqual({
          ok: false,
          reason: 'invalid-credentials',
        });
      }
      expect(await directory.findUser(username)).toBeNull();
    }
  });

  it('refuses a username that matches several entries', async () => {
    expect(await directory.authenticate('twin', TWIN_PASSWORD)).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
    expect(await directory.findUser('twin')).toBeNull();
  });

  it('answers not-allowed for a user outside the allowed group, only after a correct password', async () => {
    expect(await directory.authenticate('outsider', USERS.outsider.password)).toEqual({
      ok: false,
      reason: 'not-allowed',
    });
    expect(await directory.authenticate('outsider', 'wrong')).toEqual({
      ok: false,
      reason: 'invalid-credentials',
    });
  });

  it('checks a groupOfUniqueNames through uniqueMember', async () => {
    const vpn = makeDirectory({ allowedGroupDn: VPN_GROUP_DN });
    expect((await vpn.authenticate('jdoe', USERS.jdoe.password)).ok).toBe(true);
    expect(await vpn.authenticate('jose', USERS.jose.password)).toEqual({ ok: false, reason: 'not-allowed' });
  });

  it('lets everyone with a correct password in when no group is configured', async () => {
    const open = makeDirectory({ allowedGroupDn: undefined });
    const result = await open.authenticate('outsider', USERS.outsider.password);
    expect(result).toMatchObject({ ok: true, user: { username: 'outsider', groups: [] } });
  });

  it('refuses everyone when the allowed group does not exist', async () => {
    const missing = makeDirectory({ allowedGroupDn: `cn=nope,ou=groups,${slapd.config.baseDn}` });
    expect(await missing.authenticate('jdoe', USERS.jdoe.password)).toEqual({
      ok: false,
      reason: 'not-allowed',
    });
  });
});

describe('LDAP directory: findUser and check', () => {
  it('finds a user without a password', async () => {
    expect(await directory.findUser('yamada')).toMatchObject({
      username: 'yamada',
      dn: `uid=yamada,${PEOPLE}`,
      displayName: '山田 太郎',
      groups: [GROUP_DN],
    });
    expect(await directory.findUser('nobody')).toBeNull();
    expect(await directory.findUser('')).toBeNull();
  });

  it('checks the service account and the base DN', async () => {
    expect(await directory.check()).toMatchObject({ ok: true });
    const wrong = makeDirectory({ bindPassword: 'not-the-password' });
    const result = await wrong.check();
    expect(result.ok).toBe(false);
    expect(result.detail).not.toContain('not-the-password');
    expect(await wrong.authenticate('jdoe', USERS.jdoe.password)).toEqual({
      ok: false,
      reason: 'unavailable',
    });
  });

  it('refuses to be created with an empty service password (an anonymous bind)', () => {
    expect(() => createLdapDirectory({ ...slapd.config, bindPassword: '' }, log)).toThrow(/service account/);
  });

  it('gives the service account read access without passwords and no write access', async () => {
    const client = ldap.createClient({ url: slapd.url, timeout: 2000, connectTimeout: 2000 });
    client.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) =>
        client.bind(SERVICE_DN, SERVICE_PASSWORD, (error) => (error ? reject(error) : resolve())),
      );
      const attributes = await new Promise<string[]>((resolve, reject) => {
        client.search(
          `uid=jdoe,${PEOPLE}`,
          { scope: 'base', attributes: ['*', 'userPassword'] },
          (error, res) => {
            if (error) return reject(error);
            const types: string[] = [];
            res.on('searchEntry', (entry) => types.push(...entry.attributes.map((a) => a.type)));
            res.on('error', reject);
            res.on('end', () => resolve(types));
          },
        );
      });
      expect(attributes).toContain('mail');
      expect(attributes).not.toContain('userPassword');
      const change = new ldap.Change({
        operation: 'replace',
        modification: { type: 'mail', values: ['x@y'] },
      });
      const modifyError = await new Promise<unknown>((resolve) =>
        client.modify(`uid=jdoe,${PEOPLE}`, change, (error) => resolve(error)),
      );
      expect((modifyError as { code?: number } | null)?.code).toBe(50); // insufficientAccessRights
    } finally {
      client.destroy();
    }
  });
});

describe('LDAP directory: unavailable', () => {
  it('fails closed, quickly, when nothing listens on the port', async () => {
    const port = await findFreePort();
    const down = makeDirectory({ url: `ldap://127.0.0.1:${port}` });
    const started = performance.now();
    expect(await down.authenticate('jdoe', USERS.jdoe.password)).toEqual({
      ok: false,
      reason: 'unavailable',
    });
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(down.findUser('jdoe')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect((await down.check()).ok).toBe(false);
    const line = log.lines.find((l) => l.level === 'warn' && JSON.stringify(l.o).includes(String(port)));
    expect(line?.m).toMatch(/unavailable/);
  });

  it('fails closed after the timeout when the server never answers', async () => {
    const server = await silentServer();
    try {
      const silent = makeDirectory({ url: `ldap://127.0.0.1:${server.port}`, timeoutMs: 300 });
      const started = performance.now();
      expect(await silent.authenticate('jdoe', USERS.jdoe.password)).toEqual({
        ok: false,
        reason: 'unavailable',
      });
      expect(performance.now() - started).toBeLessThan(1500);
      expect((await silent.check()).ok).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('fails closed when slapd stops, and after close()', async () => {
    const other = await startTestSlapd();
    const own = createLdapDirectory(other.config, log);
    try {
      expect((await own.authenticate('jdoe', USERS.jdoe.password)).ok).toBe(true);
      await other.stop();
      const started = performance.now();
      expect(await own.authenticate('jdoe', USERS.jdoe.password)).toEqual({
        ok: false,
        reason: 'unavailable',
      });
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(own.findUser('jdoe')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    } finally {
      await own.close();
      await other.stop();
    }
    expect(await own.authenticate('jdoe', USERS.jdoe.password)).toEqual({ ok: false, reason: 'unavailable' });
    expect(await own.check()).toEqual({ ok: false, detail: 'directory client is closed' });
  });
});
