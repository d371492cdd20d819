/**
 * What the server tells the app it understands, signed with the challenge's nonce. `decline_reason`: the app may
 * say why it declined, `unknown_trigger` ("Was this request triggered by you?" "No, decline it") or `cancelled`
 * ("Yes, but discard it").
 */
export const SERVER_CAPABILITIES = { decline_reason: true } as const;
export type DeclineReason = 'unknown_trigger' | 'cancelled';

/** A challenge as the privacyIDEA Authenticator polls it: every signed field a string, as the app requires. */
export interface PipushChallenge {
  nonce: string;
  question: string;
  serial: string;
  title: string;
  sslverify: '0' | '1';
  url: string;
  /** Number matching: the options the app shows as buttons, comma-separated. */
  require_presence: string;
  version: '2';
  signature: string;
  capabilities: typeof SERVER_CAPABILITIES;
  /** base32 signature over the canonical JSON (RFC 8785) of `{capabilities, nonce}`. */
  capabilities_signature: string;
}

/** What the server signs: `nonce|url|serial|question|title|sslverify`, then `|A,B,C` for number matching. */
export function challengeMessage(
  challenge: Omit<PipushChallenge, 'signature' | 'version' | 'capabilities' | 'capabilities_signature'>,
): string {
  const { nonce, url, serial, question, title, sslverify, require_presence } = challenge;
  return `${[nonce, url, serial, question, title, sslverify].join('|')}|${require_presence}`;
}

/** What the app signs when it answers: `nonce|serial`, `|decline` for a decline, `|<option>` for a tap. */
export function answerMessage(answer: {
  nonce: string;
  serial: string;
  decline: boolean;
  declineReason?: string | undefined;
  presenceAnswer?: string | undefined;
}): string {
  let message = `${answer.nonce}|${answer.serial}`;
  if (answer.decline) message += '|decline';
  if (answer.decline && answer.declineReason !== undefined) message += `|${answer.declineReason}`;
  if (answer.presenceAnswer !== undefined) message += `|${answer.presenceAnswer}`;
  return message;
}

/**
 * What the server signs for its capabilities: the canonical JSON of `{capabilities, nonce}`. Keys sorted, no
 * spaces; the values are only booleans and strings, for which JSON.stringify is already canonical.
 */
export function capabilitiesMessage(nonce: string): string {
  const sorted = Object.fromEntries(Object.entries(SERVER_CAPABILITIES).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify({ capabilities: sorted, nonce });
}
