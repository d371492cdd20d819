/**
 * `Directory` over LDAP with ldapjs 3 (OpenLDAP with `uid`, Active Directory with `sAMAccountName`).
 *
 * authenticate = refuse bad input before any network traffic -> bind as the least-privilege service account
 * and search for exactly one user (the filter is built from ldapjs filter objects, so `*`, `(` and `\` in a
 * username are literal values) -> bind as that user's DN with the password on a fresh connection -> only
 * then check the allowed group. Every connection is opened for one call (over TLS when the URL is ldaps:// or
 * StartTLS is on: see ldap-tls.ts) and unbound afterwards. Any
 * transport failure or timeout is `unavailable` (fails closed). Passwords are never logged.
 *
 * The user's DN is taken from the `entryDN` (OpenLDAP, 389-ds) or `distinguishedName` (AD) attribute as the
 * server wrote it: ldapjs re-serialises a search entry's DN and gets some escapes wrong (a `\` in a value
 * comes back as an invalid DN), so its `objectName` is only the last resort.
 */
import ldap from 'ldapjs';
import {
  type AuthResult,
  type Directory,
  DirectoryUnavailableError,
  type DirectoryUser,
  validateCredentialsInput,
  validateUsernameInput,
} from './directory.js';
import { type LdapTlsSettings, ldapTlsOptions, startTls } from './ldap-tls.js';

export type DirectoryAttribute = 'displayName' | 'email' | 'phone' | 'mobile' | 'language';

export interface LdapDirectoryOptions extends LdapTlsSettings {
  /** `ldap://host:port` or `ldaps://host:port`. */
  url: string;
  /** Where users (and groups) are searched. */
  baseDn: string;
  /** The least-privilege service account that searches. */
  bindDn: string;
  bindPassword: string;
  usernameAttribute: 'uid' | 'sAMAccountName';
  /** When set, only members of this group may authenticate (others get `not-allowed`). */
  allowedGroupDn?: string;
  /** LDAP attribute names for the user's fields (defaults in `DEFAULT_ATTRIBUTES`). */
  attributes?: Partial<Record<DirectoryAttribute, string>>;
  /** Connection and per-operation timeout (default 5 s). */
  timeoutMs?: number;
}

export interface DirectoryLogger {
  debug(o: object, m?: string): void;
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export const DEFAULT_ATTRIBUTES: Readonly<Record<DirectoryAttribute, string>> = Object.freeze({
  displayName: 'displayName',
  email: 'mail',
  phone: 'telephoneNumber',
  mobile: 'mobile',
  language: 'preferredLanguage',
});

export const DEFAULT_LDAP_TIMEOUT_MS = 5000;

type Client = ldap.Client;
type SearchEntry = ldap.SearchEntry;
type Filter = InstanceType<typeof ldap.EqualityFilter>;

/** LDAP result codes (RFC 4511 4.1.9) this module tells apart. */
const SIZE_LIMIT_EXCEEDED = 4;
const INVALID_CREDENTIALS = 49;
const NO_SUCH_OBJECT = 32;
/** Server answers that say "the directory cannot serve you now / is misconfigured", not "this user is wrong". */
const UNAVAILABLE_CODES = new Set([
  1, // operationsError
  2, // protocolError
  3, // timeLimitExceeded
  7, // authMethodNotSupported
  8, // strongerAuthRequired
  11, // adminLimitExceeded
  13, // confidentialityRequired
  51, // busy
  52, // unavailable
  54, // loopDetect
  80, // other
]);

const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;

/** A connection that failed, or an operation that got no answer in time. */
class LdapTransportError extends Error {
  override name = 'LdapTransportError';
}

/** An LDAP result code from the server, or `undefined` when the error did not come from a server answer. */
function resultCode(error: unknown): number | undefined {
  if (error instanceof LdapTransportError || typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  // ldapjs reports its own connection failures and timeouts as LDAPErrors with code 80 (other).
  if (name === 'ConnectionError' || name === 'TimeoutError' || name === 'AbandonedError') return undefined;
  if (typeof name !== 'string' || !name.endsWith('Error') || typeof code !== 'number') return undefined;
  return code;
}

function describe(error: unknown): { error: string; ldapCode?: number } {
  const code = resultCode(error);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return code === undefined ? { error: message } : { error: message, ldapCode: code };
}

/** Bounded, log-safe view of user input. */
function preview(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…(${value.length} chars)` : value;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LdapTransportError(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Case-insensitive view of a search entry's attributes (servers differ in the case they return). */
function attributeMap(entry: SearchEntry): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const attribute of entry.attributes) {
    const key = attribute.type.toLowerCase();
    const values = (attribute.values as string | string[] | undefined) ?? [];
    map.set(key, [...(map.get(key) ?? []), ...(Array.isArray(values) ? values : [values])]);
  }
  return map;
}

function first(map: Map<string, string[]>, name: string): string | null {
  const value = map.get(name.toLowerCase())?.find((v) => v.trim() !== '');
  return value ?? null;
}

function entryDn(entry: SearchEntry, map: Map<string, string[]>): string {
  return first(map, 'entryDN') ?? first(map, 'distinguishedName') ?? String(entry.objectName ?? '');
}

/** DN equality as far as ldapjs can parse; falls back to a case-insensitive comparison. */
function sameDn(a: string, b: string): boolean {
  try {
    return ldap.parseDN(a).equals(ldap.parseDN(b));
  } catch {
    return a.trim().toLowerCase() === b.trim().toLowerCase();
  }
}

export function createLdapDirectory(opts: LdapDirectoryOptions, logger: DirectoryLogger): Directory {
  if (!/^ldaps?:\/\//i.test(opts.url)) throw new Error(`directory url must start with ldap:// or ldaps://`);
  if (opts.baseDn.trim() === '') throw new Error('directory baseDn is empty');
  if (opts.bindDn.trim() === '' || opts.bindPassword === '') {
    // An empty service password would be an unauthenticated (anonymous) bind: never search that way.
    throw new Error('directory bindDn and bindPassword are required (the service account)');
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LDAP_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('directory timeoutMs must be positive');
  const attrs: Record<DirectoryAttribute, string> = { ...DEFAULT_ATTRIBUTES };
  for (const [field, name] of Object.entries(opts.attributes ?? {})) {
    if (name === undefined) continue;
    if (!(field in DEFAULT_ATTRIBUTES)) throw new Error(`unknown directory attribute field ${field}`);
    if (!ATTRIBUTE_NAME.test(name)) throw new Error(`invalid LDAP attribute name for ${field}: ${name}`);
    attrs[field as DirectoryAttribute] = name;
  }
  const { url, baseDn, bindDn, usernameAttribute, allowedGroupDn } = opts;
  const requested = [
    ...new Set([
      usernameAttribute,
      attrs.displayName,
      'cn',
      attrs.email,
      attrs.phone,
      attrs.mobile,
      attrs.language,
      'memberOf',
      'entryDN',
      'distinguishedName',
    ]),
  ];
  if (opts.startTls && /^ldaps:/i.test(opts.url)) throw new Error('directory: StartTLS is for ldap:// URLs');
  const tlsOptions = ldapTlsOptions(opts.url, opts);
  const timeLimitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const open = new Set<Client>();
  let closed = false;

  /**
   * A connected client (not yet bound), TLS negotiated when configured. Rejects with an LdapTransportError when
   * it cannot connect or the server's certificate is not trusted.
   */
  async function connect(): Promise<Client> {
    const client = await connectPlain();
    if (!opts.startTls || tlsOptions === undefined) return client;
    try {
      await withDeadline(startTls(client, tlsOptions), timeoutMs + 250, 'StartTLS');
      return client;
    } catch (error) {
      await dispose(client);
      throw new LdapTransportError(`StartTLS with ${url} failed: ${describe(error).error}`);
    }
  }

  function connectPlain(): Promise<Client> {
    let client: Client;
    try {
      client = ldap.createClient({
        url,
        connectTimeout: timeoutMs,
        timeout: timeoutMs,
        reconnect: false,
        ...(tlsOptions && !opts.startTls ? { tlsOptions } : {}),
      });
    } catch (error) {
      return Promise.reject(
        new LdapTransportError(`cannot create an LDAP client for ${url}: ${String(error)}`),
      );
    }
    open.add(client);
    // ldapjs emits 'error' for failures that also reach the pending operation; never let one crash the process.
    client.on('error', () => {});
    const events = ['error', 'connectError', 'connectRefused', 'connectTimeout', 'setupError'] as const;
    const connected = new Promise<Client>((resolve, reject) => {
      const onConnect = () => {
        cleanup();
        resolve(client);
      };
      const onFailure = (error: unknown) => {
        cleanup();
        reject(new LdapTransportError(`cannot connect to ${url}: ${describe(error).error}`));
      };
      const cleanup = () => {
        client.removeListener('connect', onConnect);
        for (const event of events) client.removeListener(event, onFailure);
      };
      client.once('connect', onConnect);
      for (const event of events) client.once(event, onFailure);
    });
    return withDeadline(connected, timeoutMs + 250, `connect to ${url}`).catch(async (error: unknown) => {
      await dispose(client);
      throw error;
    });
  }

  /** Unbinds politely (bounded), then destroys the socket. Never throws. */
  async function dispose(client: Client | undefined): Promise<void> {
    if (client === undefined || !open.delete(client)) return;
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        try {
          client.unbind(() => {
            clearTimeout(timer);
            resolve();
          });
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    try {
      client.destroy();
    } catch {
      // already gone
    }
  }

  function bind(client: Client, dn: string, password: string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      client.bind(dn, password, (error) => (error ? reject(error) : resolve()));
    });
    return withDeadline(done, timeoutMs + 250, 'bind');
  }

  function search(
    client: Client,
    base: string,
    options: { scope: 'base' | 'sub'; filter: Filter; attributes: string[]; sizeLimit: number },
  ): Promise<{ entries: SearchEntry[]; truncated: boolean }> {
    const done = new Promise<{ entries: SearchEntry[]; truncated: boolean }>((resolve, reject) => {
      const entries: SearchEntry[] = [];
      client.search(base, { ...options, timeLimit: timeLimitSeconds }, (error, res) => {
        if (error) {
          reject(error);
          return;
        }
        res.on('searchEntry', (entry) => entries.push(entry));
        res.on('error', (err) => {
          if (resultCode(err) === SIZE_LIMIT_EXCEEDED) resolve({ entries, truncated: true });
          else reject(err);
        });
        res.on('end', () => resolve({ entries, truncated: false }));
      });
    });
    return withDeadline(done, timeoutMs + 250, 'search');
  }

  /** Connected and bound as the service account. A refused service bind is a configuration error. */
  async function serviceClient(): Promise<Client> {
    const client = await connect();
    try {
      await bind(client, bindDn, opts.bindPassword);
      return client;
    } catch (error) {
      await dispose(client);
      if (resultCode(error) !== undefined) {
        logger.error(
          { url, bindDn, ...describe(error) },
          'directory: the service account bind was refused (check bindDn / bindPassword)',
        );
        throw new LdapTransportError(`service account bind refused: ${describe(error).error}`);
      }
      throw error;
    }
  }

  function userFilter(username: string): Filter {
    const byName = new ldap.EqualityFilter({ attribute: usernameAttribute, value: username });
    const classes =
      usernameAttribute === 'sAMAccountName'
        ? [
            new ldap.EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
            new ldap.EqualityFilter({ attribute: 'objectClass', value: 'user' }),
          ]
        : [new ldap.EqualityFilter({ attribute: 'objectClass', value: 'person' })];
    return new ldap.AndFilter({ filters: [...classes, byName] });
  }

  /** The one entry for `username`, or `null` (none or several). */
  async function findEntry(client: Client, username: string): Promise<SearchEntry | null> {
    const { entries, truncated } = await search(client, baseDn, {
      scope: 'sub',
      filter: userFilter(username),
      attributes: requested,
      sizeLimit: 2,
    });
    if (entries.length === 1 && !truncated) return entries[0]!;
    logger.info(
      { username: preview(username), matches: truncated ? `>${entries.length - 1}` : entries.length },
      entries.length === 0 ? 'directory: no such user' : 'directory: username matches several entries',
    );
    return null;
  }

  function toUser(entry: SearchEntry, username: string): DirectoryUser {
    const map = attributeMap(entry);
    const name = first(map, usernameAttribute) ?? username;
    return {
      username: name,
      dn: entryDn(entry, map),
      displayName: first(map, attrs.displayName) ?? first(map, 'cn') ?? name,
      email: first(map, attrs.email),
      phone: first(map, attrs.phone),
      mobile: first(map, attrs.mobile),
      language: first(map, attrs.language),
      // memberOf (AD, OpenLDAP with the memberof overlay); collectGroups adds the groups that list the user.
      groups: [...(map.get('memberof') ?? [])],
    };
  }

  /** Adds the groups under baseDn that list the user in `member` or `uniqueMember` (groupOfNames, AD groups). */
  async function collectGroups(client: Client, user: DirectoryUser): Promise<void> {
    const filter = new ldap.OrFilter({
      filters: [
        new ldap.EqualityFilter({ attribute: 'member', value: user.dn }),
        new ldap.EqualityFilter({ attribute: 'uniqueMember', value: user.dn }),
      ],
    });
    const { entries } = await search(client, baseDn, {
      scope: 'sub',
      filter,
      attributes: ['entryDN', 'distinguishedName'],
      sizeLimit: 1000,
    });
    for (const entry of entries) {
      const dn = entryDn(entry, attributeMap(entry));
      if (dn !== '' && !user.groups.some((g) => sameDn(g, dn))) user.groups.push(dn);
    }
  }

  /** Membership of `allowedGroupDn`: memberOf / groups found under baseDn, else the group entry itself. */
  async function isAllowed(client: Client, user: DirectoryUser): Promise<boolean> {
    if (allowedGroupDn === undefined) return true;
    if (user.groups.some((g) => sameDn(g, allowedGroupDn))) return true;
    // The group may live outside baseDn: ask the group entry itself (the server compares DNs).
    try {
      const { entries } = await search(client, allowedGroupDn, {
        scope: 'base',
        filter: new ldap.OrFilter({
          filters: [
            new ldap.EqualityFilter({ attribute: 'member', value: user.dn }),
            new ldap.EqualityFilter({ attribute: 'uniqueMember', value: user.dn }),
          ],
        }),
        attributes: ['1.1'],
        sizeLimit: 1,
      });
      if (entries.length > 0) user.groups.push(allowedGroupDn);
      return entries.length > 0;
    } catch (error) {
      if (resultCode(error) === NO_SUCH_OBJECT) {
        logger.error({ allowedGroupDn }, 'directory: the allowed group does not exist; nobody can sign in');
        return false;
      }
      throw error;
    }
  }

  async function lookUp(client: Client, username: string): Promise<DirectoryUser | null> {
    const entry = await findEntry(client, username);
    if (entry === null) return null;
    const user = toUser(entry, username);
    if (user.dn.trim() === '') return null;
    await collectGroups(client, user);
    return user;
  }

  async function authenticate(username: string, password: string): Promise<AuthResult> {
    const input = validateCredentialsInput(username, password);
    if (!input.ok) {
      logger.info(
        {
          username: typeof username === 'string' ? preview(username) : typeof username,
          problem: input.problem,
        },
        'directory: credentials refused before any bind',
      );
      return { ok: false, reason: 'invalid-credentials' };
    }
    if (closed) return { ok: false, reason: 'unavailable' };
    const started = Date.now();
    let service: Client | undefined;
    let userClient: Client | undefined;
    try {
      service = await serviceClient();
      const user = await lookUp(service, username);
      if (user === null) return { ok: false, reason: 'invalid-credentials' };

      userClient = await connect();
      try {
        await bind(userClient, user.dn, password);
      } catch (error) {
        const code = resultCode(error);
        if (code === undefined || UNAVAILABLE_CODES.has(code)) throw error;
        logger.info(
          { username: preview(username), ldapCode: code, ms: Date.now() - started },
          code === INVALID_CREDENTIALS ? 'directory: wrong password' : 'directory: user bind refused',
        );
        return { ok: false, reason: 'invalid-credentials' };
      } finally {
        await dispose(userClient);
      }

      if (!(await isAllowed(service, user))) {
        logger.info(
          { username: user.username, allowedGroupDn },
          'directory: user is not in the allowed group',
        );
        return { ok: false, reason: 'not-allowed' };
      }
      logger.debug({ username: user.username, ms: Date.now() - started }, 'directory: authenticated');
      return { ok: true, user };
    } catch (error) {
      logger.warn(
        { url, username: preview(username), ms: Date.now() - started, ...describe(error) },
        'directory: unavailable during authentication',
      );
      return { ok: false, reason: 'unavailable' };
    } finally {
      await dispose(userClient);
      await dispose(service);
    }
  }

  async function findUser(username: string): Promise<DirectoryUser | null> {
    if (!validateUsernameInput(username).ok) return null;
    if (closed) throw new DirectoryUnavailableError({ reason: 'closed' });
    let service: Client | undefined;
    try {
      service = await serviceClient();
      return await lookUp(service, username);
    } catch (error) {
      logger.warn(
        { url, username: preview(username), ...describe(error) },
        'directory: unavailable in findUser',
      );
      throw new DirectoryUnavailableError(describe(error));
    } finally {
      await dispose(service);
    }
  }

  async function check(): Promise<{ ok: boolean; detail: string }> {
    if (closed) return { ok: false, detail: 'directory client is closed' };
    const started = Date.now();
    let service: Client | undefined;
    try {
      service = await serviceClient();
      const { entries } = await search(service, baseDn, {
        scope: 'base',
        filter: new ldap.PresenceFilter({ attribute: 'objectClass' }),
        attributes: ['1.1'],
        sizeLimit: 1,
      });
      if (entries.length === 0) return { ok: false, detail: `${bindDn} cannot read ${baseDn} at ${url}` };
      return {
        ok: true,
        detail: `bound as ${bindDn} and read ${baseDn} at ${url} in ${Date.now() - started} ms`,
      };
    } catch (error) {
      return { ok: false, detail: `${url}: ${describe(error).error}` };
    } finally {
      await dispose(service);
    }
  }

  async function close(): Promise<void> {
    closed = true;
    await Promise.all([...open].map((client) => dispose(client)));
  }

  return { authenticate, findUser, check, close };
}
