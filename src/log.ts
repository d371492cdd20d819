import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths that may carry a secret or a full phone number: pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'pin',
  'code',
  'otp',
  'answer',
  'body',
  'password',
  'token',
  'apiKey',
  'signingKey',
  'secretKey',
  'authorization',
  'sessionId',
  'phone',
  'to',
  'from',
  '*.pin',
  '*.code',
  '*.otp',
  '*.answer',
  '*.body',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.signingKey',
  '*.secretKey',
  '*.authorization',
  '*.sessionId',
  '*.phone',
  '*.to',
  '*.from',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-signalwire-signature"]',
  'req.headers["x-twilio-signature"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'dialtone-mfa' },
    },
    destination,
  );
}

/** Masks a phone number for logs and pages: keeps the country code and the last two digits. */
export function maskPhone(e164: string): string {
  if (e164.length <= 5) return '***';
  return `${e164.slice(0, 2)}${'*'.repeat(e164.length - 4)}${e164.slice(-2)}`;
}
