/**
 * A private OpenLDAP `slapd` in a folder of its own (never /etc/ldap or the system service): writes a
 * slapd.conf, runs slapd in the foreground as a child process on a loopback port, waits until it answers,
 * seeds it with `ldapadd`, and stops it. Used by the demo directory of `npm start` and by the tests.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ldap from 'ldapjs';
import { findFreePort, LOOPBACK, type RedisChild, spawnRedisServer } from '../redis/redis-process.js';
import { findExecutable } from '../system/find-executable.js';

export interface SlapdOptions {
  /** Folder for slapd.conf, the database, the pid file and the seed file (created if missing). */
  dir: string;
  /** Loopback port; a free one when omitted. */
  port?: number;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  /** Seed LDIF text, added with `ldapadd` as rootDn once slapd answers. */
  ldif?: string;
  /** slapd.conf access directives for the database (`access to ... by ...` lines); default: slapd's own. */
  acl?: string;
  /** Serve StartTLS on the ldap:// port and ldaps:// on a second port with this certificate (PEM files). */
  tls?: SlapdTls;
}

export interface SlapdTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed certFile: the seeding and the readiness probe trust it. */
  caFile: string;
  /** Refuse every operation that is not over TLS (`security tls=1`): a cleartext bind is refused. */
  require?: boolean;
}

export interface SlapdHandle {
  url: string;
  port: number;
  /** `ldaps://127.0.0.1:<port>` when `tls` was given. */
  ldapsUrl?: string;
  stop(): Promise<void>;
}

export const SLAPD_MISSING_MESSAGE =
  'OpenLDAP (slapd and ldapadd) was not found. Run `npm start` or `npm test` once as root (it installs ' +
  'them), or install them yourself with `sudo apt-get install slapd ldap-utils`.';

/** Daemons live in /usr/sbin, which a normal user's PATH may lack. */
// slapd lives in /usr/sbin, which a normal user's PATH may lack.
const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin', '/bin'];

/** Why a slapd child did not start or could not be seeded. `output` is the tail of slapd's own output. */
export class SlapdStartError extends Error {
  override name = 'SlapdStartError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output.trim() === '' ? message : `${message}\n--- slapd output ---\n${output.trim()}`);
  }

  get addressInUse(): boolean {
    return /Address already in use/i.test(this.output);
  }
}

/** slapd.conf values go inside double quotes: keep out what would end or escape them. */
function confValue(what: string, value: string): string {
  if (value === '' || /["\\\r\n\0]/.test(value)) {
    throw new Error(`slapd ${what} must be non-empty and contain no quote, backslash or line break`);
  }
  return `"${value}"`;
}

const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

export function slapdConf(opts: {
  dir: string;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  acl?: string;
  tls?: SlapdTls;
}) {
  return [
    '# Written by src/directory/slapd-process.ts for a private slapd; rewritten at every start.',
    ...SCHEMAS.map((schema) => `include /etc/ldap/schema/${schema}.schema`),
    ...(opts.tls === undefined
      ? []
      : [
          `TLSCertificateFile ${confValue('TLS certificate path', opts.tls.certFile)}`,
          `TLSCertificateKeyFile ${confValue('TLS key path', opts.tls.keyFile)}`,
          ...(opts.tls.require ? ['security tls=1'] : []),
        ]),
    `pidfile ${confValue('pid file path', path.join(opts.dir, 'slapd.pid'))}`,
    `argsfile ${confValue('args file path', path.join(opts.dir, 'slapd.args'))}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    '',
    'database mdb',
    `suffix ${confValue('suffix', opts.suffix)}`,
    `rootdn ${confValue('rootDn', opts.rootDn)}`,
    `rootpw ${confValue('rootPassword', opts.rootPassword)}`,
    `directory ${confValue('database path', path.join(opts.dir, 'data'))}`,
    'maxsize 67108864',
    'index objectClass eq',
    ...(opts.acl === undefined ? [] : ['', opts.acl.trim()]),
    '',
  ].join('\n');
}

/**
 * Access directives for a read-only service account: it reads (and searches) every entry but no password;
 * anybody may use a password to bind (`auth`); users read their own entry; nobody else sees anything. The
 * rootdn is never subject to access control (it seeds the directory).
 */
export function readOnlyServiceAcl(serviceDn: string): string {
  const dn = confValue('service DN', serviceDn);
  return [
    'access to attrs=userPassword',
    '  by anonymous auth',
    '  by * none',
    'access to *',
    `  by dn.exact=${dn} read`,
    '  by self read',
    '  by * none',
  ].join('\n');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when an anonymous base search of the root DSE at `url` succeeds. Never throws. */
export function rootDseAnswers(url: string, timeoutMs = 1000, tlsOptions?: { ca: string }): Promise<boolean> {
  return new Promise((resolve) => {
    let client: ldap.Client | undefined;
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        client?.destroy();
      } catch {
        // gone already
      }
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    try {
      client = ldap.createClient({
        url,
        connectTimeout: timeoutMs,
        timeout: timeoutMs,
        ...(tlsOptions ? { tlsOptions } : {}),
      });
    } catch {
      finish(false);
      return;
    }
    client.on('error', () => finish(false));
    client.on('connectError', () => finish(false));
    client.on('connectRefused', () => finish(false));
    client.on('connectTimeout', () => finish(false));
    client.search('', { scope: 'base', attributes: ['namingContexts'] }, (error, res) => {
      if (error) {
        finish(false);
        return;
      }
      res.on('error', () => finish(false));
      res.on('end', () => finish(true));
    });
  });
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function describeExit(child: RedisChild): string {
  const { exitCode, signalCode } = child.child;
  return signalCode !== null ? `signal ${signalCode}` : `code ${exitCode ?? 'unknown'}`;
}

async function waitUntilReady(
  child: RedisChild,
  url: string,
  pidFile: string,
  timeoutMs: number,
  tlsOptions?: { ca: string },
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) {
      throw new SlapdStartError(
        `slapd exited (${describeExit(child)}) before answering on ${url}`,
        child.output(),
      );
    }
    // Our child wrote its pid file (so it bound the port: another server that won a port race does not count).
    if ((await readPid(pidFile)) === child.child.pid && (await rootDseAnswers(url, 500, tlsOptions))) return;
    if (Date.now() >= deadline) {
      throw new SlapdStartError(`slapd did not answer on ${url} within ${timeoutMs} ms`, child.output());
    }
    await Promise.race([sleep(50), child.exited]);
  }
}

function runLdapAdd(binary: string, args: string[], env?: Record<string, string>): Promise<void> {
  const options = {
    timeout: 60_000,
    maxBuffer: 4 * 1024 * 1024,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  };
  return new Promise((resolve, reject) => {
    execFile(binary, args, options, (error, _stdout, stderr) => {
      if (error) reject(new Error(`ldapadd failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

/**
 * Starts slapd with a fresh slapd.conf in `opts.dir` (the database in `<dir>/data` is kept as it is: wipe the
 * folder first for a clean directory) and seeds it with `opts.ldif`. `stop()` terminates slapd (SIGTERM,
 * SIGKILL after 5 s) and resolves once it has exited; it leaves the folder in place.
 */
export async function startSlapd(opts: SlapdOptions): Promise<SlapdHandle> {
  const slapd = findExecutable('slapd', { extraDirs: SEARCH_DIRS });
  const ldapadd = findExecutable('ldapadd', { extraDirs: SEARCH_DIRS });
  if (slapd === undefined || (opts.ldif !== undefined && ldapadd === undefined)) {
    throw new Error(SLAPD_MISSING_MESSAGE);
  }
  const dir = path.resolve(opts.dir);
  await mkdir(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
  const confFile = path.join(dir, 'slapd.conf');
  const pidFile = path.join(dir, 'slapd.pid');
  await writeFile(confFile, slapdConf({ ...opts, dir }), { mode: 0o600 });

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await findFreePort(LOOPBACK));
    const url = `ldap://${LOOPBACK}:${port}`;
    const ldapsUrl = opts.tls ? `ldaps://${LOOPBACK}:${await findFreePort(LOOPBACK)}` : undefined;
    const listen = ldapsUrl ? `${url}/ ${ldapsUrl}/` : `${url}/`;
    await rm(pidFile, { force: true });
    // `-d none`: stay in the foreground (no fork) and print only errors, such as "Address already in use".
    const child = spawnRedisServer(['-f', confFile, '-h', listen, '-d', 'none'], { binary: slapd });
    try {
      // A slapd that requires TLS refuses the cleartext probe and seeding: both go over TLS then.
      const viaTls = opts.tls?.require ? await readFile(opts.tls.caFile, 'utf8') : undefined;
      await waitUntilReady(
        child,
        viaTls ? ldapsUrl! : url,
        pidFile,
        15_000,
        viaTls ? { ca: viaTls } : undefined,
      );
      if (opts.ldif !== undefined && ldapadd !== undefined) {
        const seedFile = path.join(dir, 'seed.ldif');
        const passwordFile = path.join(dir, 'rootpw');
        await writeFile(seedFile, opts.ldif, { mode: 0o600 });
        // -y: the password from a file, not on the command line (where `ps` shows it).
        await writeFile(passwordFile, opts.rootPassword, { mode: 0o600 });
        try {
          const tlsArgs = viaTls ? ['-ZZ'] : [];
          const env = viaTls ? { LDAPTLS_CACERT: opts.tls!.caFile, LDAPTLS_REQCERT: 'demand' } : undefined;
          await runLdapAdd(
            ldapadd,
            ['-x', ...tlsArgs, '-H', url, '-D', opts.rootDn, '-y', passwordFile, '-f', seedFile],
            env,
          );
        } finally {
          await rm(passwordFile, { force: true });
        }
      }
    } catch (error) {
      await child.stop(2000);
      // The port was taken between choosing it and slapd binding it: try once more.
      if (
        attempt === 1 &&
        opts.port === undefined &&
        error instanceof SlapdStartError &&
        error.addressInUse
      ) {
        continue;
      }
      if (error instanceof SlapdStartError) throw error;
      throw new SlapdStartError((error as Error).message, child.output());
    }
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      ...(ldapsUrl ? { ldapsUrl } : {}),
      stop() {
        stopping ??= child.stop(5000);
        return stopping;
      },
    };
  }
}
