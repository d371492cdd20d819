/** A challenge as the privacyIDEA Authenticator polls it: every field a string, as the app requires. */
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
}

/** What the server signs: `nonce|url|serial|question|title|sslverify`, then `|A,B,C` for number matching. */
export function challengeMessage(challenge: Omit<PipushChallenge, 'signature' | 'version'>): string {
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
