import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { configSchema, type RawConfig } from './schema.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

export type CarrierName = 'simulator' | 'signalwire-cxml' | 'signalwire-relay';

export interface Config {
  env: RawConfig['NODE_ENV'];
  host: string;
  port: number;
  publicUrl: string;
  logLevel: RawConfig['LOG_LEVEL'];
  dataDir: string;
  redisUrl: string | undefined;
  /** Redis behind Sentinel: the sentinels to ask and the name of the master they watch (instead of a URL). */
  redisSentinel: { sentinels: { host: string; port: number }[]; name: string } | undefined;
  /** Every commit waits until a replica has it (`WAIT 1`), so a failover loses no committed verification. */
  redisRequireReplica: boolean;
  redisPrefix: string;
  apiKey: string;
  apiKeyGenerated: boolean;
  signingKey: string;
  secretKey: string;
  carrier: CarrierName;
  signalwire: {
    spaceUrl: string | undefined;
    projectId: string | undefined;
    apiToken: string | undefined;
    fromNumber: string;
    relayTopics: string[];
    connectTimeoutMs: number;
  };
  otp: {
    length: number;
    ttlSeconds: number;
    maxAttempts: number;
    maxSendsPerFlow: number;
    smsMode: 'two-way' | 'one-way';
  };
  voice: {
    mode: 'standard' | 'pin' | 'code';
    ringSeconds: number;
    promptSeconds: number;
    maxCallSeconds: number;
    noInputTries: number;
    backupOn: ('busy' | 'no-answer')[];
    machineDetection: boolean;
  };
  pin: { minLength: number; maxLength: number };
  /** Settings that are allowed but weaken security: logged at start. */
  warnings: string[];
  sendLimit: { count: number; windowSeconds: number };
  fraudBlockDays: number;
  /** Escalating lockout: lock n lasts minutes * 2^(n-1); lock number `max` is hard; `decayHours` quiet resets. */
  lockout: { threshold: number; minutes: number; max: number; decayHours: number };
  phones: { allowedCountries: string[]; defaultCountry: string };
  serviceName: string;
  mail: { smtpUrl: string | undefined; from: string };
  portal: {
    methods: ('voice' | 'sms')[];
    requirePin: boolean;
    securityQuestions: boolean;
    questionsAsSecondFactor: boolean;
    /** A user without a PIN changes a factor only this soon after a call or text to her phone. */
    factorChangeFreshMs: number;
  };
  /** Absent: `npm start` runs the demo directory. */
  ldap:
    | {
        url: string;
        baseDn: string;
        bindDn: string;
        bindPassword: string;
        usernameAttribute: 'uid' | 'sAMAccountName';
        allowedGroupDn?: string;
        /** Upgrade an `ldap://` connection with StartTLS before any bind. */
        startTls: boolean;
        /** PEM file of the CA(s) that signed the directory's certificate (else Node's trusted CAs). */
        caFile?: string;
      }
    | undefined;
  defaultLanguage: 'en' | 'es';
  trustProxy: TrustProxy;
  /** Requests per client address per window for the portal and the API; 0 turns the limit off. */
  rateLimit: { max: number; windowSeconds: number };
  bodyLimitBytes: number;
  sweep: { intervalMs: number; graceMs: number };
  /**
   * Prometheus `/metrics`: off unless configured. `port`: a listener of its own (on `host`); `token`: a bearer
   * token the scrape must send (on that listener, or on the main server when there is no port).
   */
  metrics: { port: number | undefined; host: string; token: string | undefined };
  push: {
    ttlSeconds: number;
    numberDigits: number;
    limit: { count: number; windowSeconds: number };
    maxDevices: number;
    /** The privacyIDEA Authenticator (push token protocol, poll only). */
    pipush: { enabled: boolean; sslVerify: boolean; presenceOptions: number };
    webPush: {
      enabled: boolean;
      publicKey: string | undefined;
      privateKey: string | undefined;
      subject: string;
      hosts: string[];
    };
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The simulator's service number: a fictional NANP number reserved for examples. */
export const SIMULATOR_SERVICE_NUMBER = '+12025550100';

/**
 * Reads the configuration once: an optional JSON file (CONFIG_FILE) overlaid by the environment. Every problem is
 * collected and thrown together so the operator fixes them in one go. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const fromFile = env.CONFIG_FILE ? readConfigFile(env.CONFIG_FILE) : {};
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(formatIssue));
  return deepFreeze(resolveConfig(parsed.data));
}

function resolveConfig(raw: RawConfig): Config {
  const problems: string[] = [];
  const production = raw.NODE_ENV === 'production';
  const carrier: CarrierName =
    raw.CARRIER ?? (raw.SIGNALWIRE_PROJECT_ID && raw.SIGNALWIRE_API_TOKEN ? 'signalwire-cxml' : 'simulator');
  if (production) {
    for (const key of ['API_KEY', 'SIGNING_KEY', 'SECRET_KEY', 'PUBLIC_URL'] as const) {
      if (!raw[key]) problems.push(`${key}: required when NODE_ENV=production`);
    }
    if (!raw.REDIS_URL && !raw.REDIS_SENTINELS?.length)
      problems.push('REDIS_URL: required when NODE_ENV=production (or REDIS_SENTINELS)');
    if (carrier === 'simulator')
      problems.push('CARRIER: the simulator cannot be used when NODE_ENV=production');
    if (!raw.SMTP_URL)
      problems.push(
        'SMTP_URL: required when NODE_ENV=production (the development mailbox is for development)',
      );
  }
  if (carrier !== 'simulator') {
    const needed = ['SIGNALWIRE_PROJECT_ID', 'SIGNALWIRE_API_TOKEN', 'SIGNALWIRE_FROM_NUMBER'] as const;
    for (const key of needed) if (!raw[key]) problems.push(`${key}: required when CARRIER=${carrier}`);
    if (carrier === 'signalwire-cxml') {
      if (!raw.SIGNALWIRE_SPACE_URL)
        problems.push('SIGNALWIRE_SPACE_URL: required when CARRIER=signalwire-cxml');
      if (!raw.SIGNING_KEY) problems.push('SIGNING_KEY: required when CARRIER=signalwire-cxml');
    }
  }
  const backupOn = raw.VOICE_BACKUP_ON.filter((v) => v !== 'none');
  for (const value of backupOn) {
    if (value !== 'busy' && value !== 'no-answer')
      problems.push(`VOICE_BACKUP_ON: ${value} is not busy, no-answer or none`);
  }
  const methods = raw.PORTAL_METHODS.filter((m): m is 'voice' | 'sms' => m === 'voice' || m === 'sms');
  if (methods.length === 0 || methods.length !== raw.PORTAL_METHODS.length) {
    problems.push('PORTAL_METHODS: a comma-separated list of voice and sms');
  }
  if (raw.LDAP_URL) {
    for (const key of ['LDAP_BASE_DN', 'LDAP_BIND_DN', 'LDAP_BIND_PASSWORD'] as const) {
      if (!raw[key]) problems.push(`${key}: required when LDAP_URL is set`);
    }
    problems.push(...ldapTransportProblems(raw, production));
  } else if (production)
    problems.push('LDAP_URL: required when NODE_ENV=production (the demo directory is for development)');
  if (Boolean(raw.VAPID_PUBLIC_KEY) !== Boolean(raw.VAPID_PRIVATE_KEY))
    problems.push('VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY: set both or neither');
  if (raw.PIN_MIN_LENGTH > raw.PIN_MAX_LENGTH)
    problems.push('PIN_MIN_LENGTH: must not exceed PIN_MAX_LENGTH');
  if (production && raw.METRICS_PORT && !raw.METRICS_TOKEN && !isLoopback(raw.METRICS_HOST))
    problems.push(
      'METRICS_TOKEN: required when METRICS_PORT listens beyond loopback (METRICS_HOST) in production',
    );
  const sentinels = parseSentinels(raw, problems);
  const trustProxy = parseTrustProxy(raw.TRUST_PROXY);
  if (!trustProxy.ok) problems.push(`TRUST_PROXY: ${trustProxy.problem}`);
  if (problems.length || !trustProxy.ok) throw new ConfigError(problems);

  const dataDir = resolve(raw.DATA_DIR);
  const publicUrl = (raw.PUBLIC_URL ?? `http://${raw.HOST}:${raw.PORT}`).replace(/\/+$/, '');
  return {
    env: raw.NODE_ENV,
    host: raw.HOST,
    port: raw.PORT,
    publicUrl,
    logLevel: raw.LOG_LEVEL,
    dataDir,
    redisUrl: raw.REDIS_URL,
    redisSentinel: sentinels,
    redisRequireReplica: raw.REDIS_REQUIRE_REPLICA,
    redisPrefix: raw.REDIS_PREFIX,
    apiKey: raw.API_KEY ?? randomBytes(24).toString('base64url'),
    apiKeyGenerated: !raw.API_KEY,
    // The simulator signs with the same key; development keys persist so in-flight flows survive a restart.
    signingKey: raw.SIGNING_KEY ?? persistedDevSecret(dataDir, 'signing-key'),
    secretKey: raw.SECRET_KEY ?? persistedDevSecret(dataDir, 'secret-key'),
    carrier,
    signalwire: {
      spaceUrl: raw.SIGNALWIRE_SPACE_URL?.replace(/\/+$/, ''),
      projectId: raw.SIGNALWIRE_PROJECT_ID,
      apiToken: raw.SIGNALWIRE_API_TOKEN,
      fromNumber: raw.SIGNALWIRE_FROM_NUMBER ?? SIMULATOR_SERVICE_NUMBER,
      relayTopics: raw.SIGNALWIRE_RELAY_TOPICS,
      connectTimeoutMs: raw.CARRIER_CONNECT_TIMEOUT_MS,
    },
    otp: {
      length: raw.OTP_LENGTH,
      ttlSeconds: raw.OTP_TTL_SECONDS,
      maxAttempts: raw.MAX_ATTEMPTS,
      maxSendsPerFlow: raw.MAX_SENDS_PER_FLOW,
      smsMode: raw.SMS_MODE,
    },
    voice: {
      mode: raw.VOICE_MODE,
      ringSeconds: raw.VOICE_RING_SECONDS,
      promptSeconds: raw.VOICE_PROMPT_SECONDS,
      maxCallSeconds: raw.VOICE_MAX_CALL_SECONDS,
      noInputTries: raw.VOICE_NO_INPUT_TRIES,
      backupOn: backupOn as ('busy' | 'no-answer')[],
      machineDetection: raw.VOICE_MACHINE_DETECTION,
    },
    pin: { minLength: raw.PIN_MIN_LENGTH, maxLength: raw.PIN_MAX_LENGTH },
    warnings: configWarnings(raw),
    sendLimit: { count: raw.SEND_LIMIT, windowSeconds: raw.SEND_LIMIT_WINDOW_SECONDS },
    fraudBlockDays: raw.FRAUD_BLOCK_DAYS,
    lockout: {
      threshold: raw.LOCKOUT_THRESHOLD,
      minutes: raw.LOCKOUT_MINUTES,
      max: raw.LOCKOUT_MAX,
      decayHours: raw.LOCKOUT_DECAY_HOURS,
    },
    phones: {
      allowedCountries: raw.ALLOWED_COUNTRIES.map((c) => c.toUpperCase()),
      defaultCountry: raw.DEFAULT_COUNTRY,
    },
    serviceName: raw.SERVICE_NAME,
    mail: { smtpUrl: raw.SMTP_URL, from: raw.MAIL_FROM },
    portal: {
      methods,
      requirePin: raw.PORTAL_REQUIRE_PIN,
      securityQuestions: raw.SECURITY_QUESTIONS ?? raw.NODE_ENV === 'development',
      questionsAsSecondFactor: raw.QUESTIONS_AS_SECOND_FACTOR,
      factorChangeFreshMs: raw.FACTOR_CHANGE_FRESH_MINUTES * 60_000,
    },
    ldap: raw.LDAP_URL
      ? {
          url: raw.LDAP_URL,
          baseDn: raw.LDAP_BASE_DN ?? '',
          bindDn: raw.LDAP_BIND_DN ?? '',
          bindPassword: raw.LDAP_BIND_PASSWORD ?? '',
          usernameAttribute: raw.LDAP_USERNAME_ATTRIBUTE,
          ...(raw.LDAP_ALLOWED_GROUP_DN ? { allowedGroupDn: raw.LDAP_ALLOWED_GROUP_DN } : {}),
          startTls: raw.LDAP_STARTTLS,
          ...(raw.LDAP_CA_FILE ? { caFile: resolve(raw.LDAP_CA_FILE) } : {}),
        }
      : undefined,
    defaultLanguage: raw.DEFAULT_LANGUAGE,
    trustProxy: trustProxy.value,
    rateLimit: { max: raw.RATE_LIMIT_MAX, windowSeconds: raw.RATE_LIMIT_WINDOW_SECONDS },
    bodyLimitBytes: raw.BODY_LIMIT_BYTES,
    sweep: { intervalMs: raw.SWEEP_INTERVAL_MS, graceMs: raw.SWEEP_GRACE_MS },
    metrics: { port: raw.METRICS_PORT, host: raw.METRICS_HOST, token: raw.METRICS_TOKEN },
    push: {
      ttlSeconds: raw.PUSH_TTL_SECONDS,
      numberDigits: raw.PUSH_NUMBER_DIGITS,
      limit: { count: raw.PUSH_LIMIT, windowSeconds: raw.PUSH_LIMIT_WINDOW_SECONDS },
      maxDevices: raw.MAX_DEVICES,
      pipush: {
        enabled: raw.PIPUSH_ENABLED,
        sslVerify: raw.PIPUSH_SSL_VERIFY,
        presenceOptions: raw.PIPUSH_PRESENCE_OPTIONS,
      },
      webPush: {
        enabled: raw.WEB_PUSH,
        publicKey: raw.VAPID_PUBLIC_KEY,
        privateKey: raw.VAPID_PRIVATE_KEY,
        subject: raw.VAPID_SUBJECT ?? vapidSubject(raw.MAIL_FROM),
        hosts: raw.WEB_PUSH_HOSTS.map((h) => h.toLowerCase()),
      },
    },
  };
}

/**
 * Passwords cross the wire in every bind: in production the directory is reached over TLS (ldaps:// or StartTLS)
 * unless the operator says, in so many words, that cleartext is acceptable (e.g. a loopback stunnel).
 */
function ldapTransportProblems(raw: RawConfig, production: boolean): string[] {
  const problems: string[] = [];
  const ldaps = /^ldaps:\/\//i.test(raw.LDAP_URL ?? '');
  if (ldaps && raw.LDAP_STARTTLS)
    problems.push('LDAP_STARTTLS: not with an ldaps:// URL (the connection is TLS from the start)');
  if (production && !ldaps && !raw.LDAP_STARTTLS && !raw.LDAP_ALLOW_CLEARTEXT) {
    problems.push(
      'LDAP_URL: ldap:// sends passwords in cleartext; use ldaps://, set LDAP_STARTTLS=true, ' +
        'or set LDAP_ALLOW_CLEARTEXT=true to accept it when NODE_ENV=production',
    );
  }
  if (raw.LDAP_CA_FILE) {
    try {
      accessSync(raw.LDAP_CA_FILE, constants.R_OK);
    } catch {
      problems.push(`LDAP_CA_FILE: ${raw.LDAP_CA_FILE} cannot be read`);
    }
  }
  return problems;
}

/** `host:port,host:port` and the master's name, both or neither, and not beside REDIS_URL. */
function parseSentinels(raw: RawConfig, problems: string[]): Config['redisSentinel'] {
  const list = raw.REDIS_SENTINELS ?? [];
  if (!list.length && !raw.REDIS_SENTINEL_NAME) return undefined;
  if (!list.length || !raw.REDIS_SENTINEL_NAME) {
    problems.push('REDIS_SENTINELS / REDIS_SENTINEL_NAME: set both or neither');
    return undefined;
  }
  if (raw.REDIS_URL) problems.push('REDIS_URL: not with REDIS_SENTINELS (the sentinels name the master)');
  const sentinels = [];
  for (const entry of list) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || port < 1 || port > 65535) problems.push(`REDIS_SENTINELS: ${entry} is not host:port`);
    else sentinels.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return { sentinels, name: raw.REDIS_SENTINEL_NAME };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** The PIN policy's length floor: below 6 digits a PIN has at most 10^5 values. */
export const RECOMMENDED_PIN_MIN_LENGTH = 6;

function configWarnings(raw: RawConfig): string[] {
  const warnings: string[] = [];
  if (raw.PIN_MIN_LENGTH < RECOMMENDED_PIN_MIN_LENGTH)
    warnings.push(
      `PIN_MIN_LENGTH=${raw.PIN_MIN_LENGTH}: new PINs may be shorter than ${RECOMMENDED_PIN_MIN_LENGTH} digits and easier to guess`,
    );
  if (raw.PIPUSH_ENABLED && raw.NODE_ENV === 'production' && !raw.PUBLIC_URL?.startsWith('https://'))
    warnings.push(
      'PUBLIC_URL is not https://: the privacyIDEA Authenticator would reach the server without TLS (set PIPUSH_ENABLED=false or serve it over HTTPS)',
    );
  if (raw.PIPUSH_ENABLED && !raw.PIPUSH_SSL_VERIFY)
    warnings.push(
      'PIPUSH_SSL_VERIFY=false: the privacyIDEA Authenticator will not check the server certificate (sslverify=0)',
    );
  return warnings;
}

/** Push services want a contact for the sender: the mail sender's address unless VAPID_SUBJECT says otherwise. */
function vapidSubject(mailFrom: string): string {
  const address = /<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom.trim();
  return `mailto:${address}`;
}

function persistedDevSecret(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return existing;
  } catch {
    // first run: create it below
  }
  const value = randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function readConfigFile(path: string): Record<string, unknown> {
  try {
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('must hold a JSON object');
    return data as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError([`CONFIG_FILE (${path}): ${(error as Error).message}`]);
  }
}

function formatIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
