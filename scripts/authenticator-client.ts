import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type JsonWebKey,
  randomBytes,
  sign,
} from 'node:crypto';

/**
 * A client of the documented device API (README "Device API"), written from that text alone: it signs each
 * request with the device's ECDSA P-256 key as raw r||s over the canonical lines. The reference authenticator
 * (`scripts/authenticator`) and the tests use it.
 */
export interface DeviceCredentials {
  apiUrl: string;
  deviceId: string;
  username: string;
  serviceName: string;
  name: string;
  publicJwk: JsonWebKey;
  privateJwk: JsonWebKey;
}

export interface Challenge {
  id: string;
  nonce: string;
  service: string;
  purpose: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
  expiresAt: string;
  pinRequired: boolean;
  numberDigits: number;
}

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field
  body: any;
}

export interface SignOptions {
  /** Override parts of the signed request (tests of tampering): the signature is made over these. */
  timestamp?: number;
  nonce?: string;
  deviceId?: string;
  signWith?: JsonWebKey;
  /** The signer's clock (tests pass the server's manual clock). */
  now?: () => number;
}

/** The activation link a QR code carries: `<PUBLIC_URL>/app/#url=<activation URL>&code=<code>`. */
export function parseActivationLink(link: string): { url: string; code: string } | null {
  try {
    const hash = new URL(link).hash.replace(/^#/, '');
    const params = new URLSearchParams(hash);
    const url = params.get('url');
    const code = params.get('code');
    return url && code ? { url, code } : null;
  } catch {
    return null;
  }
}

export const newDeviceKeys = () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicJwk: publicKey.export({ format: 'jwk' }), privateJwk: privateKey.export({ format: 'jwk' }) };
};

export function canonical(parts: {
  method: string;
  path: string;
  deviceId: string;
  timestamp: string;
  nonce: string;
  body: string;
}): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('base64url');
  return [
    'dialtone-device-v1',
    parts.method,
    parts.path,
    parts.deviceId,
    parts.timestamp,
    parts.nonce,
    bodyHash,
  ].join('\n');
}

/** The headers and body of a signed request, without sending it (tests tamper with them). */
export function signRequest(
  url: string,
  method: string,
  body: unknown,
  key: { deviceId: string; privateJwk: JsonWebKey },
  options: SignOptions = {},
): { headers: Record<string, string>; body: string } {
  const target = new URL(url);
  const text = body === undefined ? '' : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? (options.now ?? Date.now)());
  const nonce = options.nonce ?? randomBytes(18).toString('base64url');
  const deviceId = options.deviceId ?? key.deviceId;
  const data = canonical({
    method,
    path: `${target.pathname}${target.search}`,
    deviceId,
    timestamp,
    nonce,
    body: text,
  });
  const privateKey = createPrivateKey({ key: options.signWith ?? key.privateJwk, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const headers: Record<string, string> = {
    'dialtone-timestamp': timestamp,
    'dialtone-nonce': nonce,
    'dialtone-signature': signature.toString('base64url'),
    ...(deviceId ? { 'dialtone-device': deviceId } : {}),
    ...(text ? { 'content-type': 'application/json' } : {}),
  };
  return { headers, body: text };
}

/** Sends one signed request; returns what it sent too, so a test can replay it exactly. */
export async function signedFetch(
  url: string,
  method: string,
  body: unknown,
  key: { deviceId: string; privateJwk: JsonWebKey },
  options: SignOptions = {},
): Promise<ApiResponse & { sent: { headers: Record<string, string>; body: string } }> {
  const sent = signRequest(url, method, body, key, options);
  return { ...(await sendRaw(url, method, sent.headers, sent.body)), sent };
}

export async function sendRaw(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<ApiResponse> {
  const response = await fetch(url, { method, headers, ...(body ? { body } : {}) });
  const raw = await response.text();
  let parsed: unknown = raw;
  try {
    parsed = raw ? JSON.parse(raw) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Registers a new key with an activation URL and code. Throws with the server's error when refused. */
export async function activate(
  activationUrl: string,
  code: string,
  device: { name: string; platform: string },
  now: () => number = Date.now,
): Promise<DeviceCredentials> {
  const keys = newDeviceKeys();
  const response = await signedFetch(
    activationUrl,
    'POST',
    { code, name: device.name, platform: device.platform, publicKey: keys.publicJwk },
    { deviceId: '', privateJwk: keys.privateJwk },
    { now },
  );
  if (response.status !== 201) throw new ApiError(response);
  return {
    apiUrl: response.body.apiUrl,
    deviceId: response.body.device.id,
    username: response.body.username,
    serviceName: response.body.serviceName,
    name: device.name,
    ...keys,
  };
}

export class ApiError extends Error {
  constructor(readonly response: ApiResponse) {
    super(`${response.status} ${response.body?.error?.code ?? ''}: ${response.body?.error?.message ?? ''}`);
  }
}

/** The signed calls of an activated device. */
export class DeviceClient {
  constructor(
    readonly credentials: DeviceCredentials,
    private readonly now: () => number = Date.now,
  ) {}

  request(method: string, path: string, body?: unknown, options: SignOptions = {}) {
    return signedFetch(`${this.credentials.apiUrl}${path}`, method, body, this.credentials, {
      now: this.now,
      ...options,
    });
  }

  async challenges(waitSeconds = 0): Promise<Challenge[]> {
    const response = await this.request('GET', `/challenges${waitSeconds ? `?wait=${waitSeconds}` : ''}`);
    if (response.status !== 200) throw new ApiError(response);
    return response.body.challenges;
  }

  answer(
    challenge: Pick<Challenge, 'id' | 'nonce'>,
    decision: 'approve' | 'deny' | 'fraud',
    extra: { number?: string; pin?: string } = {},
  ) {
    return this.request('POST', `/challenges/${challenge.id}/answer`, {
      challengeId: challenge.id,
      nonce: challenge.nonce,
      decision,
      ...extra,
    });
  }
}
