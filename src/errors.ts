import { FLOW_REASONS, type FlowReason } from '../flows/reasons.js';

/**
 * Every error code the product answers with, declared once: its HTTP status and its public message (what a
 * client may see; details stay in logs). The README's table of codes is checked against this registry by
 * `test/unit/error-registry.test.ts`. Flow failure reasons live beside the machines (`flows/reasons.ts`, the
 * machines may not import from `src/`) and are re-exported here, so this file names every code.
 */
export const ERRORS = {
  // Requests a client got wrong
  bad_request: { status: 400, message: 'The request body could not be parsed' },
  invalid_request: { status: 400, message: 'The request is not valid' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON' },
  invalid_phone: { status: 400, message: 'Not a valid phone number' },
  phone_not_allowed: { status: 400, message: 'Numbers of this kind or country are not allowed' },
  invalid_code: { status: 400, message: 'The code is not valid' },
  invalid_public_key: { status: 400, message: 'publicKey: an EC P-256 public key in JWK form' },
  web_push_disabled: { status: 400, message: 'Web Push is turned off on this server' },
  push_endpoint_not_allowed: { status: 400, message: 'endpoint: not a push service this server posts to' },
  unauthorized: { status: 401, message: 'A valid API key is required' },
  signature_required: { status: 401, message: 'This request must be signed by the device' },
  unknown_device: { status: 401, message: 'This device is not registered' },
  stale_request: { status: 401, message: 'The request timestamp is too far from the server time' },
  bad_signature: { status: 401, message: 'The request signature is not valid' },
  replayed_request: { status: 401, message: 'This request was already received' },
  webhook_signature_invalid: { status: 403, message: 'Signature check failed' },
  forbidden: { status: 403, message: 'This device may not answer this challenge' },
  stale_challenge: { status: 403, message: 'This is not the current issue of the challenge' },
  activation_refused: { status: 403, message: 'The activation code or URL is not valid' },
  user_blocked: { status: 403, message: 'The user is blocked' },
  no_account: { status: 403, message: 'Your account is not set up for sign-in verification' },
  not_found: { status: 404, message: 'No such resource' },
  user_not_found: { status: 404, message: 'No such user' },
  device_not_found: { status: 404, message: 'No such device' },
  flow_not_found: { status: 404, message: 'No such verification' },
  challenge_not_found: { status: 404, message: 'No such challenge' },
  user_exists: { status: 409, message: 'A user with this username exists' },
  no_phone: { status: 409, message: 'The user has no phone number for this method' },
  phone_opted_out: { status: 409, message: 'The number has opted out of texts' },
  no_device: { status: 409, message: 'The user has no activated mobile app' },
  pipush_disabled: { status: 409, message: 'The privacyIDEA Authenticator is turned off on this server' },
  no_totp: { status: 409, message: 'The user has no activated authenticator app (TOTP)' },
  too_many_devices: { status: 409, message: 'The user has as many devices as allowed; remove one first' },
  verification_closed: { status: 409, message: 'The verification is already closed' },
  challenge_closed: { status: 409, message: 'The challenge is already closed' },
  wrong_method: { status: 409, message: 'This verification does not use a code' },
  flow_exists: { status: 409, message: 'A flow with this id already exists' },
  flow_version_mismatch: { status: 409, message: 'This verification was started by another version' },
  body_too_large: { status: 413, message: 'The request body is too large' },
  unsupported_media_type: { status: 415, message: 'Unsupported content type' },
  method_not_available: { status: 422, message: 'This method is not available on this server' },
  user_locked: { status: 423, message: 'Too many failed attempts; try again later' },
  rate_limited: { status: 429, message: 'Too many requests; wait a few minutes' },
  resend_limit: { status: 429, message: 'No more codes can be sent for this verification' },
  // The server's side
  internal: { status: 500, message: 'Something went wrong' },
  unknown_machine: { status: 500, message: 'Unknown flow machine' },
  busy: { status: 503, message: 'The verification is busy; try again' },
  directory_unavailable: { status: 503, message: 'The directory is unavailable' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable; try again shortly' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export { FLOW_REASONS, type FlowReason };

/** The `{error: {code, message}}` body of a code, with its registered message unless a more precise one is given. */
export function errorBody(code: ErrorCode, message?: string) {
  return { error: { code, message: message ?? ERRORS[code].message } };
}

/** Answers a request with a registered error: its status and `{error: {code, message}}` as JSON. */
export function sendError<R extends ReplyLike<R>>(reply: R, code: ErrorCode, message?: string) {
  return reply.code(ERRORS[code].status).type('application/json').send(errorBody(code, message));
}

interface ReplyLike<R> {
  code(status: number): R;
  type(contentType: string): R;
  send(payload: unknown): R;
}

/**
 * An error with a registered code: the status comes from the registry. `message` may replace the registered
 * one with a more precise text for the client (which field, which state); it must not carry a secret.
 */
export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? ERRORS[code].message);
    this.statusCode = ERRORS[code].status;
    this.name = 'AppError';
  }
}
