// The documented device API (README "Device API"), signed with WebCrypto. Every request carries the device id,
// a timestamp, a fresh nonce and an ECDSA P-256 signature (raw r||s, base64url) over the seven lines
// dialtone-device-v1 / METHOD / path?query / device id / timestamp / nonce / base64url(SHA-256(body)).
import { newKeyPair } from './key-store.js';

const SCHEME = 'dialtone-device-v1';
const encoder = new TextEncoder();

export function base64url(bytes) {
  let text = '';
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The server could not be reached (network down, or it answered 5xx): the caller says so and retries. */
export class Unreachable extends Error {}

/** The server refused the request: `status` and the error `code` of its `{error: {code, message}}` body. */
export class Refused extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'unknown';
  }
}

async function signedHeaders(parts, privateKey) {
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(18)));
  const bodyHash = base64url(await crypto.subtle.digest('SHA-256', encoder.encode(parts.body)));
  const lines = [SCHEME, parts.method, parts.path, parts.deviceId, parts.timestamp, nonce, bodyHash].join(
    '\n',
  );
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    privateKey,
    encoder.encode(lines),
  );
  const headers = {
    'dialtone-timestamp': parts.timestamp,
    'dialtone-nonce': nonce,
    'dialtone-signature': base64url(signature),
  };
  if (parts.deviceId) headers['dialtone-device'] = parts.deviceId;
  if (parts.body) headers['content-type'] = 'application/json';
  return headers;
}

/** The server's clock minus ours, from a response's Date header (null when it has none). */
function skewFrom(response) {
  const date = Date.parse(response.headers.get('date') ?? '');
  return Number.isNaN(date) ? null : date - Date.now();
}

/**
 * One signed request. A timestamp refused as stale is retried once with the server's clock (from its Date
 * header), so a phone whose clock is a few minutes off still works; `clock.skewMs` keeps that correction.
 */
async function send(url, method, body, key, clock, signal) {
  const target = new URL(url);
  const text = body === undefined ? '' : JSON.stringify(body);
  for (let attempt = 0; ; attempt++) {
    const timestamp = String(Math.round(Date.now() + (clock.skewMs ?? 0)));
    const path = `${target.pathname}${target.search}`;
    const headers = await signedHeaders(
      { method, path, deviceId: key.deviceId, timestamp, body: text },
      key.privateKey,
    );
    let response;
    try {
      response = await fetch(target, { method, headers, body: text || undefined, cache: 'no-store', signal });
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      throw new Unreachable(String(error));
    }
    if (response.status >= 500) throw new Unreachable(`HTTP ${response.status}`);
    const raw = await response.text();
    const parsed = raw ? JSON.parse(raw) : null;
    if (response.ok) return parsed;
    const skew = skewFrom(response);
    if (attempt === 0 && parsed?.error?.code === 'stale_request' && skew !== null) {
      clock.skewMs = skew;
      continue;
    }
    throw new Refused(response.status, parsed);
  }
}

/** The QR code's content `<server>/app/#url=<activation URL>&code=<code>`: `{url, code}`, or null. */
export function parseActivationLink(text) {
  try {
    const params = new URLSearchParams(new URL(text.trim()).hash.replace(/^#/, ''));
    const url = params.get('url');
    return url ? { url, code: params.get('code') ?? '' } : null;
  } catch {
    return null;
  }
}

/**
 * Registers a new key with an activation URL and code, signed with that key (proof of possession). Returns
 * the record to keep: the device id, the API's URL and the key pair (the private half non-extractable).
 */
export async function activate(activationUrl, code, device) {
  const keyPair = await newKeyPair();
  const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  const publicKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const clock = { skewMs: 0 };
  const answer = await send(
    activationUrl,
    'POST',
    { code, name: device.name, platform: device.platform, publicKey },
    { deviceId: '', privateKey: keyPair.privateKey },
    clock,
  );
  return {
    deviceId: answer.device.id,
    apiUrl: answer.apiUrl,
    username: answer.username,
    serviceName: answer.serviceName,
    name: answer.device.name,
    webPushKey: answer.webPush?.publicKey ?? null,
    skewMs: clock.skewMs,
    keyPair,
  };
}

/** The signed calls of an activated device. */
export class DeviceApi {
  constructor(device) {
    this.device = device;
    this.clock = { skewMs: device.skewMs ?? 0 };
  }

  request(method, path, body, signal) {
    const key = { deviceId: this.device.deviceId, privateKey: this.device.keyPair.privateKey };
    return send(`${this.device.apiUrl}${path}`, method, body, key, this.clock, signal);
  }

  describe() {
    return this.request('GET', '/device');
  }

  async challenges(waitSeconds, signal) {
    const answer = await this.request(
      'GET',
      `/challenges${waitSeconds ? `?wait=${waitSeconds}` : ''}`,
      undefined,
      signal,
    );
    return answer.challenges;
  }

  answer(challenge, decision, extra) {
    return this.request('POST', `/challenges/${challenge.id}/answer`, {
      challengeId: challenge.id,
      nonce: challenge.nonce,
      decision,
      ...extra,
    });
  }

  subscribe(subscription) {
    return this.request('PUT', '/push-subscription', subscription);
  }

  remove() {
    return this.request('DELETE', '/device');
  }
}
