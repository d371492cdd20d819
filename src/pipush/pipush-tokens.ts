import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { translate } from '../../flows/i18n/index.js';
import type { Clock } from '../clock.js';
import { ACTIVATION_TTL_MS, type Activations, normalizeActivationCode } from '../devices/activations.js';
import type { Device } from '../devices/device.js';
import type { DeviceKeys } from '../devices/device-keys.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { DeviceStore } from '../devices/device-store.js';
import { SIGNATURE_WINDOW_MS } from '../devices/signed-request.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../security/secret-box.js';
import { type CodeSecrets, safeEqual } from '../security/secrets.js';
import type { UserStore } from '../store/user-store.js';
import { type PushVerifications, pushContext } from '../verification/push-verifications.js';
import {
  answerMessage,
  capabilitiesMessage,
  challengeMessage,
  type PipushChallenge,
  SERVER_CAPABILITIES,
} from './pipush-challenge.js';
import { newServerKeyPair, parseAppPublicKey, signBase32, verifyBase32 } from './pipush-crypto.js';
import { presenceOptions } from './presence-options.js';

export const PIPUSH_PATH = '/ttype/push';
export const PIPUSH_DEVICE_NAME = 'privacyIDEA Authenticator';
// A poll signature must outlive every timestamp that could still be accepted with it.
const POLL_REPLAY_TTL_MS = 2 * SIGNATURE_WINDOW_MS + 5_000;

export interface PipushSettings {
  publicUrl: string;
  serviceName: string;
  sslVerify: boolean;
  presenceOptions: number;
}

export interface PipushEnrolment {
  serial: string;
  /** The content of the QR code the app scans. */
  uri: string;
  expiresAt: string;
}

/**
 * The privacyIDEA Authenticator's push token protocol (README "privacyIDEA Authenticator"): enrolment URI,
 * rollout step 2, poll and answer. A token is a device of kind `pipush` in the same store, its challenges are
 * the same push flows, its answers go through the same `PushVerifications.answer`: limits, lockout, audit and
 * one open push per user are shared with the product's own app.
 */
export class PipushTokens {
  readonly url: string;
  /**
   * RSA-4096 signing costs milliseconds and the app polls every 3 s while a push is open; PKCS#1 v1.5 signatures
   * are deterministic, so each process signs a challenge once.
   */
  private readonly signatures = new Map<string, string>();

  constructor(
    private readonly deps: {
      settings: PipushSettings;
      activations: Activations;
      registry: DeviceRegistry;
      devices: DeviceStore;
      push: PushVerifications;
      users: UserStore;
      secrets: CodeSecrets;
      box: SecretBox;
      redis: Redis;
      keys: DeviceKeys;
      clock: Clock;
      logger: Logger;
    },
  ) {
    this.url = `${deps.settings.publicUrl}${PIPUSH_PATH}`;
  }

  /** A single-use enrolment for the user (replaces any pending activation) and the URI its QR code carries. */
  async createEnrolment(username: string): Promise<PipushEnrolment> {
    const { settings } = this.deps;
    const ticket = await this.deps.activations.create(username, 'pipush');
    const label = encodeURIComponent(`${settings.serviceName}:${username}`);
    const query = [
      ['url', this.url],
      ['ttl', String(Math.round(ACTIVATION_TTL_MS / 60_000))],
      ['issuer', settings.serviceName],
      ['enrollment_credential', ticket.code],
      ['v', '1'],
      ['serial', ticket.id],
      ['sslverify', settings.sslVerify ? '1' : '0'],
      ['poll_only', 'True'],
    ]
      .map(([name, value]) => `${name}=${encodeURIComponent(value as string)}`)
      .join('&');
    return {
      serial: ticket.id,
      uri: `otpauth://pipush/${label}?${query}`,
      expiresAt: new Date(ticket.expiresAt).toISOString(),
    };
  }

  /**
   * Where an enrolment stands, for the page that shows its QR code: `rolled-out` once the app completed rollout
   * step 2, `gone` when it expired or was replaced.
   */
  async enrolmentState(serial: string): Promise<'pending' | 'rolled-out' | 'gone'> {
    const state = await this.deps.activations.state(serial);
    if (state.state === 'used') return state.deviceId === serial ? 'rolled-out' : 'gone';
    return state.state;
  }

  /** Rollout step 2: the credential proves the QR code, the app's key is registered, the server's key returned. */
  async rollout(form: {
    serial: string;
    enrollment_credential: string;
    pubkey: string;
  }): Promise<{ publicKey: string }> {
    const appKey = parseAppPublicKey(form.pubkey);
    if (!appKey)
      throw new AppError('invalid_public_key', 'pubkey: a base64 DER SubjectPublicKeyInfo of an RSA key');
    const serial = form.serial;
    const retried = await this.retriedRollout(serial, form.enrollment_credential, appKey.der);
    if (retried) return { publicKey: retried };
    const device = await this.deps.registry.activate(serial, form.enrollment_credential, {
      name: PIPUSH_DEVICE_NAME,
      platform: 'other',
      kind: 'pipush',
      publicKey: { type: 'rsa-spki', der: appKey.der },
      // Only after the credential proved right: a guess must not cost the server an RSA-4096 key pair.
      serverKey: async () => {
        const pair = await newServerKeyPair();
        return { publicPkcs1: pair.publicPkcs1, sealedPrivate: this.deps.box.seal(pair.privatePem, serial) };
      },
    });
    if (!device.serverKey) throw new Error('pipush token stored without a server key');
    return { publicKey: device.serverKey.publicPkcs1 };
  }

  /** Poll: a signed `serial|timestamp` within a minute, each signature once; answers the open challenge, if any. */
  async poll(query: { serial: string; timestamp: string; signature: string }): Promise<PipushChallenge[]> {
    const at = parseTimestamp(query.timestamp);
    if (at === null) throw new AppError('invalid_request', 'timestamp: an ISO 8601 time with a time zone');
    if (Math.abs(at - this.deps.clock.now()) > SIGNATURE_WINDOW_MS)
      throw new AppError('stale_request', 'The timestamp is too far from the server time');
    const device = await this.token(query.serial);
    if (!verifyBase32(appKeyOf(device), `${query.serial}|${query.timestamp}`, query.signature))
      throw new AppError('bad_signature', 'The signature is not valid');
    const spent = createHash('sha256').update(query.signature.toUpperCase()).digest('base64url');
    const fresh = await this.deps.redis.set(
      this.deps.keys.nonce(`pipush:${device.id}`, spent),
      '1',
      'PX',
      POLL_REPLAY_TTL_MS,
      'NX',
    );
    if (fresh !== 'OK') throw new AppError('replayed_request');
    await this.deps.devices.touch(device.id, this.deps.clock.now());
    const flow = await this.deps.push.openChallengeFor(device, { deliver: true });
    return flow ? [await this.challengeOf(device, flow)] : [];
  }

  /** Answer: a signed approve (with the tapped option) or decline of the open challenge, judged by the machine. */
  async answer(form: {
    serial: string;
    nonce: string;
    signature: string;
    decline?: string | undefined;
    decline_reason?: string | undefined;
    presence_answer?: string | undefined;
  }): Promise<{ status: string; reason?: string }> {
    const device = await this.token(form.serial);
    const decline = form.decline === '1' || form.decline?.toLowerCase() === 'true';
    const message = answerMessage({
      nonce: form.nonce,
      serial: form.serial,
      decline,
      declineReason: form.decline_reason,
      presenceAnswer: form.presence_answer,
    });
    if (!verifyBase32(appKeyOf(device), message, form.signature))
      throw new AppError('bad_signature', 'The signature is not valid');
    await this.deps.devices.touch(device.id, this.deps.clock.now());
    // A replayed or late answer finds no open challenge with its nonce: refused, nothing changes.
    const flow = await this.deps.push.openChallengeFor(device, { deliver: false });
    if (!flow || !safeEqual(form.nonce, pushContext(flow).challengeNonce))
      throw new AppError('challenge_closed', 'No open challenge has this nonce');
    // "Was this request triggered by you?" "No, decline it" is the app's fraud report; any other decline denies.
    const decision = !decline ? 'approve' : form.decline_reason === 'unknown_trigger' ? 'fraud' : 'deny';
    const result = await this.deps.push.answer(device, flow.id, {
      challengeId: flow.id,
      nonce: form.nonce,
      decision,
      number: form.presence_answer,
    });
    return { status: result.status, ...(result.reason ? { reason: result.reason } : {}) };
  }

  /**
   * The app repeats rollout step 2 when its answer was lost: the same serial, credential and key get the same
   * server key again (public; nothing changes). Anything else goes the normal way, and is refused and counted.
   */
  private async retriedRollout(
    serial: string,
    credential: string,
    appKeyDer: string,
  ): Promise<string | null> {
    const device = await this.deps.devices.get(serial);
    if (device?.kind !== 'pipush' || !device.serverKey || appKeyOf(device) !== appKeyDer) return null;
    const code = normalizeActivationCode(credential, 'pipush');
    if (!code || !(await this.deps.activations.usedBy(serial, code, serial))) return null;
    return device.serverKey.publicPkcs1;
  }

  private async token(serial: string): Promise<Device> {
    const device = await this.deps.devices.get(serial);
    if (device?.kind !== 'pipush' || !device.serverKey) throw new AppError('unknown_device', 'No such token');
    return device;
  }

  private async challengeOf(
    device: Device,
    flow: Parameters<typeof pushContext>[0],
  ): Promise<PipushChallenge> {
    const { settings, secrets } = this.deps;
    const context = pushContext(flow);
    const user = await this.deps.users.get(device.userId);
    const language = user?.language ?? 'en';
    const service = context.request.service;
    const options = presenceOptions(
      secrets,
      {
        flowId: flow.id,
        nonce: context.number.nonce,
        digits: context.number.digits,
        number: this.deps.push.numberOf(flow),
      },
      settings.presenceOptions,
    );
    const unsigned = {
      nonce: context.challengeNonce,
      question: translate(language, 'pipush.question', {
        service,
        from: context.request.ip ? translate(language, 'pipush.from', { ip: context.request.ip }) : '',
      }),
      serial: device.id,
      title: translate(language, 'pipush.title', { service }),
      sslverify: settings.sslVerify ? ('1' as const) : ('0' as const),
      url: this.url,
      require_presence: options.join(','),
    };
    const privatePem = device.serverKey
      ? this.deps.box.open(device.serverKey.sealedPrivate, device.id)
      : null;
    if (!privatePem) throw new Error(`pipush token ${device.id}: the server key does not open`);
    return {
      ...unsigned,
      version: '2',
      signature: this.sign(device, challengeMessage(unsigned)),
      capabilities: SERVER_CAPABILITIES,
      capabilities_signature: this.sign(device, capabilitiesMessage(unsigned.nonce)),
    };
  }

  private sign(device: Device, message: string): string {
    const id = `${device.id}\0${createHash('sha256').update(message).digest('base64url')}`;
    const known = this.signatures.get(id);
    if (known) return known;
    const privatePem = device.serverKey
      ? this.deps.box.open(device.serverKey.sealedPrivate, device.id)
      : null;
    if (!privatePem) throw new Error(`pipush token ${device.id}: the server key does not open`);
    const signature = signBase32(privatePem, message);
    if (this.signatures.size >= 5_000) this.signatures.clear();
    this.signatures.set(id, signature);
    return signature;
  }
}

const appKeyOf = (device: Device): string =>
  device.publicKey.type === 'rsa-spki' ? device.publicKey.der : '';

const ISO_UTC = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/** ISO 8601 with a zone, as Dart's `toIso8601String()` writes it (microseconds included); epoch ms or null. */
export function parseTimestamp(text: string): number | null {
  const match = ISO_UTC.exec(text);
  if (!match) return null;
  const [, base, fraction = '', zone] = match;
  const ms = Date.parse(`${base}.${fraction.padEnd(3, '0').slice(0, 3)}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}
