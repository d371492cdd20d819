/**
 * A privacyIDEA Authenticator stand-in written from the protocol description (issue 11), not from the server:
 * RSA-4096 via node:crypto, RFC 4648 base32 written out here, and the exact strings the app signs and checks.
 */
import { constants, createPublicKey, generateKeyPair, type KeyObject, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.padEnd(Math.ceil(out.length / 8) * 8, '=');
}

export function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, '')) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

export interface AppKeys {
  privateKey: KeyObject;
  /** base64 DER SubjectPublicKeyInfo, as the app posts it. */
  spki: string;
}

/** The app's RSA-4096 key pair (about a second: make one per test file). */
export async function newAppKeys(): Promise<AppKeys> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 4096 });
  return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
}

export const signAsApp = (key: KeyObject, message: string) =>
  base32Encode(sign('sha256', Buffer.from(message), { key, padding: constants.RSA_PKCS1_PADDING }));

export interface EnrolmentUri {
  label: string;
  url: string;
  ttl: string;
  issuer: string;
  credential: string;
  serial: string;
  sslverify: string;
  v: string;
  pollOnly: string;
}

export function parseEnrolmentUri(uri: string): EnrolmentUri {
  const parsed = new URL(uri);
  if (parsed.protocol !== 'otpauth:' || parsed.host !== 'pipush') throw new Error(`not a pipush URI: ${uri}`);
  const q = parsed.searchParams;
  const need = (name: string) => {
    const value = q.get(name);
    if (value === null) throw new Error(`${name} missing from ${uri}`);
    return value;
  };
  return {
    label: decodeURIComponent(parsed.pathname.slice(1)),
    url: need('url'),
    ttl: need('ttl'),
    issuer: need('issuer'),
    credential: need('enrollment_credential'),
    serial: need('serial'),
    sslverify: need('sslverify'),
    v: need('v'),
    pollOnly: need('poll_only'),
  };
}

export interface Challenge {
  nonce: string;
  question: string;
  serial: string;
  title: string;
  sslverify: string;
  url: string;
  signature: string;
  require_presence?: string;
  version?: string;
  capabilities?: Record<string, unknown>;
  capabilities_signature?: string;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the privacyIDEA envelope field by field
  body: any;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) };
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** One token as the app holds it after scanning the QR code. */
export class PipushApp {
  serverKey: KeyObject | null = null;

  constructor(
    readonly enrolment: EnrolmentUri,
    readonly keys: AppKeys,
    private readonly now: () => number,
  ) {}

  get serial() {
    return this.enrolment.serial;
  }

  /** Rollout step 2: posts the app's key, keeps the server's (base64 DER PKCS#1). */
  async rollout(pubkey = this.keys.spki, credential = this.enrolment.credential): Promise<Answer> {
    const answer = await send(
      this.enrolment.url,
      form({
        enrollment_credential: credential,
        serial: this.serial,
        fbtoken: 'no_firebase_token',
        pubkey,
        capabilities: '["choice"]',
      }),
    );
    if (answer.status === 200 && answer.body.result?.status === true) {
      this.serverKey = createPublicKey({
        key: Buffer.from(answer.body.detail.public_key, 'base64'),
        format: 'der',
        type: 'pkcs1',
      });
    }
    return answer;
  }

  /** GET url?serial&timestamp&signature, signed over `serial|timestamp`. */
  async poll(
    options: { at?: number; timestamp?: string; signWith?: KeyObject; signature?: string } = {},
  ): Promise<Answer> {
    const timestamp = options.timestamp ?? new Date(options.at ?? this.now()).toISOString();
    const signature =
      options.signature ?? signAsApp(options.signWith ?? this.keys.privateKey, `${this.serial}|${timestamp}`);
    const query = new URLSearchParams({ serial: this.serial, timestamp, signature });
    return send(`${this.enrolment.url}?${query}`, { method: 'GET' });
  }

  private serverSigned(message: string, signature: string): boolean {
    if (!this.serverKey) return false;
    return verify(
      'sha256',
      Buffer.from(message),
      { key: this.serverKey, padding: constants.RSA_PKCS1_PADDING },
      base32Decode(signature),
    );
  }

  /**
   * The capabilities the server advertised, if their signature over the canonical JSON of {capabilities, nonce}
   * holds (written for the one shape this server sends: flat, keys already sorted).
   */
  capabilitiesOf(challenge: Challenge): Record<string, unknown> | null {
    if (!challenge.capabilities || !challenge.capabilities_signature) return null;
    const keys = Object.keys(challenge.capabilities).sort();
    const inner = keys
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(challenge.capabilities![k])}`)
      .join(',');
    const canonical = `{"capabilities":{${inner}},"nonce":${JSON.stringify(challenge.nonce)}}`;
    return this.serverSigned(canonical, challenge.capabilities_signature) ? challenge.capabilities : null;
  }

  /** The app's check of a challenge's signature before it shows anything. */
  verifies(challenge: Challenge): boolean {
    let message = [
      challenge.nonce,
      challenge.url,
      challenge.serial,
      challenge.question,
      challenge.title,
      challenge.sslverify,
    ].join('|');
    if (challenge.require_presence !== undefined) message += `|${challenge.require_presence}`;
    return this.serverSigned(message, challenge.signature);
  }

  /**
   * Posts to the challenge's url: `nonce|serial`, `|decline` (then `|<reason>` when the server advertised
   * decline_reason), or `|<option>`, signed by the token's key.
   */
  async answer(
    challenge: Challenge,
    choice: { decline: true; reason?: 'unknown_trigger' | 'cancelled' } | { option: string },
    options: { signWith?: KeyObject; tamper?: (fields: Record<string, string>) => void } = {},
  ): Promise<Answer> {
    const fields: Record<string, string> = { serial: this.serial, nonce: challenge.nonce };
    let message = `${challenge.nonce}|${this.serial}`;
    if ('decline' in choice) {
      fields.decline = '1';
      message += '|decline';
      if (choice.reason) {
        fields.decline_reason = choice.reason;
        message += `|${choice.reason}`;
      }
    } else {
      fields.presence_answer = choice.option;
      message += `|${choice.option}`;
    }
    fields.signature = signAsApp(options.signWith ?? this.keys.privateKey, message);
    options.tamper?.(fields);
    return send(challenge.url, form(fields));
  }
}
