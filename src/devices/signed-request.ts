import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Device, DevicePublicKey } from './device.js';
import type { DeviceKeys } from './device-keys.js';
import { bodyHash, canonicalRequest, SIGNATURE_HEADERS, verifyDeviceSignature } from './device-signature.js';
import type { DeviceStore } from './device-store.js';

/** A signed request is accepted within this much of the server's clock, either way. */
export const SIGNATURE_WINDOW_MS = 60_000;
// A nonce must outlive every timestamp that could still be accepted with it.
const NONCE_TTL_MS = 2 * SIGNATURE_WINDOW_MS + 5_000;

interface Headers {
  deviceId: string;
  timestamp: string;
  nonce: string;
  signature: string;
}

function readHeaders(request: FastifyRequest, needDevice: boolean): Headers {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : '';
  };
  const parts = {
    deviceId: header(SIGNATURE_HEADERS.device),
    timestamp: header(SIGNATURE_HEADERS.timestamp),
    nonce: header(SIGNATURE_HEADERS.nonce),
    signature: header(SIGNATURE_HEADERS.signature),
  };
  const wellFormed =
    (needDevice ? /^[A-Za-z0-9_-]{22}$/.test(parts.deviceId) : parts.deviceId === '') &&
    /^\d{13}$/.test(parts.timestamp) &&
    /^[A-Za-z0-9_-]{16,64}$/.test(parts.nonce) &&
    parts.signature !== '';
  if (!wellFormed) throw new AppError('signature_required');
  return parts;
}

/**
 * Checks a device's signed request: well-formed headers, a timestamp within the window, the signature over
 * method, path, device, timestamp, nonce and body hash, then a nonce never seen before. The nonce is spent only
 * after the signature holds, so nobody but the device can burn one. Nothing is changed before all of this passes.
 */
export class SignedRequests {
  constructor(
    private readonly deps: { redis: Redis; keys: DeviceKeys; devices: DeviceStore; clock: Clock },
  ) {}

  /** A registered device's request: returns the device, or throws 401. */
  async device(request: FastifyRequest): Promise<Device> {
    const parts = readHeaders(request, true);
    this.checkTime(parts.timestamp);
    const device = await this.deps.devices.get(parts.deviceId);
    if (device?.kind !== 'dialtone-app') throw new AppError('unknown_device');
    await this.verify(request, parts, device.publicKey, device.id);
    const now = this.deps.clock.now();
    await this.deps.devices.touch(device.id, now);
    return { ...device, lastUsedAt: now };
  }

  /** Activation: signed with the key being registered (proof that the device holds its private half). */
  async activation(request: FastifyRequest, publicKey: DevicePublicKey, activationId: string): Promise<void> {
    const parts = readHeaders(request, false);
    this.checkTime(parts.timestamp);
    await this.verify(request, parts, publicKey, `activation:${activationId}`);
  }

  private checkTime(timestamp: string): void {
    if (Math.abs(Number(timestamp) - this.deps.clock.now()) > SIGNATURE_WINDOW_MS)
      throw new AppError('stale_request');
  }

  private async verify(
    request: FastifyRequest,
    parts: Headers,
    publicKey: DevicePublicKey,
    nonceScope: string,
  ): Promise<void> {
    const canonical = canonicalRequest({
      method: request.method,
      path: request.url,
      deviceId: parts.deviceId,
      timestamp: parts.timestamp,
      nonce: parts.nonce,
      bodyHash: bodyHash(rawBodyOf(request)),
    });
    if (!verifyDeviceSignature(publicKey, canonical, parts.signature)) throw new AppError('bad_signature');
    const fresh = await this.deps.redis.set(
      this.deps.keys.nonce(nonceScope, parts.nonce),
      '1',
      'PX',
      NONCE_TTL_MS,
      'NX',
    );
    if (fresh !== 'OK') throw new AppError('replayed_request');
  }
}

const RAW_BODY = Symbol('rawBody');

/** The body exactly as received: the signature covers its bytes, not a re-serialisation. */
export function keepRawBody(request: FastifyRequest, raw: string): void {
  (request as unknown as Record<symbol, string>)[RAW_BODY] = raw;
}

export function rawBodyOf(request: FastifyRequest): string {
  return (request as unknown as Record<symbol, string | undefined>)[RAW_BODY] ?? '';
}
