/**
 * Why a verification ended other than approved: the `reason` a machine puts in its context and the API reports.
 * Declared once here (with what each means, for the README's table) so a machine cannot invent one; the
 * product's registry of error codes (`src/errors.ts`) re-exports it.
 */
export const FLOW_REASONS = {
  'too-many-attempts': 'every allowed answer was wrong',
  expired: 'no right answer before the code or challenge expired',
  undeliverable: 'the carrier reported the code text as not delivered',
  'carrier-refused': 'the carrier refused the text or call for good (for example an invalid number)',
  'opted-out': 'the number replied STOP',
  'reported-by-user': 'the user reported the request as fraud',
  canceled: 'canceled by the API, the portal or a newer request',
  superseded: 'a newer verification to the same number or user replaced it',
  busy: 'the line was busy',
  'no-answer': 'nobody answered the call',
  failed: 'the carrier could not place the call',
  'hung-up': 'the caller hung up before the verdict',
  voicemail: 'an answering machine picked up',
  'no-input': 'no keys were pressed after two prompts',
  'pin-change-failed': 'the new PIN was refused three times',
  timeout: 'the call lasted longer than allowed',
  'wrong-answer': 'the number or PIN typed in the app was wrong',
  'denied-by-user': 'the user denied the request in the app',
} as const;

export type FlowReason = keyof typeof FLOW_REASONS;
