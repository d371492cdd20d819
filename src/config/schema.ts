import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number, dflt: number) =>
  z.coerce.number().int().min(min).max(max).default(dflt);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));
const secret = z.string().min(16, 'must be at least 16 characters');

/** Every setting, with its default and its safe bounds (DESIGN section 6). Keys are the environment names. */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535, 3000),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./var'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  REDIS_SENTINELS: list.optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  REDIS_REQUIRE_REPLICA: bool.default(false),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('mfa'),
  API_KEY: secret.optional(),
  SIGNING_KEY: secret.optional(),
  SECRET_KEY: secret.optional(),
  CARRIER: z.enum(['simulator', 'signalwire-cxml', 'signalwire-relay']).optional(),
  SIGNALWIRE_SPACE_URL: z.url().optional(),
  SIGNALWIRE_PROJECT_ID: z.string().min(1).optional(),
  SIGNALWIRE_API_TOKEN: z.string().min(1).optional(),
  SIGNALWIRE_FROM_NUMBER: z.string().min(1).optional(),
  SIGNALWIRE_RELAY_TOPICS: list.default(['office']),
  CARRIER_CONNECT_TIMEOUT_MS: int(1000, 60000, 10000),
  OTP_LENGTH: int(6, 10, 6),
  OTP_TTL_SECONDS: int(30, 600, 300),
  MAX_ATTEMPTS: int(1, 10, 3),
  MAX_SENDS_PER_FLOW: int(1, 5, 3),
  SMS_MODE: z.enum(['two-way', 'one-way']).default('two-way'),
  SEND_LIMIT: int(1, 20, 3),
  SEND_LIMIT_WINDOW_SECONDS: int(60, 86400, 600),
  FRAUD_BLOCK_DAYS: int(0, 3650, 90),
  LOCKOUT_THRESHOLD: int(1, 100, 10),
  LOCKOUT_MINUTES: int(1, 1440, 15),
  LOCKOUT_MAX: int(1, 10, 5),
  LOCKOUT_DECAY_HOURS: int(0, 8760, 24),
  ALLOWED_COUNTRIES: list.default([
    'US',
    'CA',
    'GB',
    'IE',
    'FR',
    'DE',
    'ES',
    'IT',
    'NL',
    'BE',
    'CH',
    'AT',
    'SE',
    'NO',
    'DK',
    'FI',
    'PT',
    'AU',
    'NZ',
  ]),
  DEFAULT_COUNTRY: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('US'),
  VOICE_MODE: z.enum(['standard', 'pin', 'code']).default('pin'),
  VOICE_RING_SECONDS: int(10, 60, 30),
  VOICE_PROMPT_SECONDS: int(3, 30, 10),
  VOICE_MAX_CALL_SECONDS: int(60, 600, 180),
  VOICE_NO_INPUT_TRIES: int(1, 5, 2),
  VOICE_BACKUP_ON: list.default(['busy', 'no-answer']),
  VOICE_MACHINE_DETECTION: bool.default(true),
  // 6 by default; 4 or 5 is allowed for legacy PINs, with a warning at start.
  PIN_MIN_LENGTH: int(4, 8, 6),
  PIN_MAX_LENGTH: int(4, 12, 8),
  PORTAL_METHODS: list.default(['voice', 'sms']),
  PORTAL_REQUIRE_PIN: bool.default(true),
  SECURITY_QUESTIONS: bool.optional(),
  QUESTIONS_AS_SECOND_FACTOR: bool.default(false),
  // How recent a phone proof must be for a user without a PIN to change a factor.
  FACTOR_CHANGE_FRESH_MINUTES: int(1, 60, 5),
  LDAP_URL: z
    .string()
    .regex(/^ldaps?:\/\//, 'must start with ldap:// or ldaps://')
    .optional(),
  LDAP_BASE_DN: z.string().min(1).optional(),
  LDAP_BIND_DN: z.string().min(1).optional(),
  LDAP_BIND_PASSWORD: z.string().min(1).optional(),
  LDAP_USERNAME_ATTRIBUTE: z.enum(['uid', 'sAMAccountName']).default('uid'),
  LDAP_STARTTLS: bool.default(false),
  LDAP_CA_FILE: z.string().min(1).optional(),
  LDAP_ALLOW_CLEARTEXT: bool.default(false),
  LDAP_ALLOWED_GROUP_DN: z.string().min(1).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    .optional(),
  MAIL_FROM: z.string().min(3).max(200).default('Dialtone MFA <mfa@localhost>'),
  SERVICE_NAME: z.string().min(1).max(30).default('Dialtone'),
  DEFAULT_LANGUAGE: z.enum(['en', 'es']).default('en'),
  TRUST_PROXY: z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]).optional(),
  RATE_LIMIT_MAX: int(0, 1_000_000, 600),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 3600, 60),
  BODY_LIMIT_BYTES: int(1024, 1048576, 65536),
  PUSH_TTL_SECONDS: int(15, 120, 60),
  PUSH_NUMBER_DIGITS: int(2, 6, 3),
  PUSH_LIMIT: int(1, 20, 5),
  PUSH_LIMIT_WINDOW_SECONDS: int(60, 86400, 900),
  MAX_DEVICES: int(1, 10, 5),
  PIPUSH_ENABLED: bool.default(true),
  PIPUSH_SSL_VERIFY: bool.default(true),
  PIPUSH_PRESENCE_OPTIONS: int(2, 10, 3),
  WEB_PUSH: bool.default(true),
  VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{87}$/, 'a base64url P-256 public key')
    .optional(),
  VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url P-256 private key')
    .optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/, 'must start with mailto: or https://')
    .optional(),
  WEB_PUSH_HOSTS: list.default([
    'fcm.googleapis.com',
    'push.services.mozilla.com',
    'push.apple.com',
    'notify.windows.com',
  ]),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: secret.optional(),
  SWEEP_INTERVAL_MS: int(100, 60000, 5000),
  SWEEP_GRACE_MS: int(0, 600000, 10000),
});

export type RawConfig = z.output<typeof configSchema>;
