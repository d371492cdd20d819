export type SmsKeyword = 'stop' | 'help' | 'start';

export type ParsedReply =
  /** Digits only: the code followed by the PIN, split by `splitAnswer` with the flow's own code length. */
  | { kind: 'answer'; digits: string }
  | { kind: 'fraud' }
  | { kind: 'keyword'; keyword: SmsKeyword }
  | { kind: 'unreadable' };

// The keywords carriers and the CTIA require us to honour.
const KEYWORDS: Record<string, SmsKeyword> = {
  STOP: 'stop',
  STOPALL: 'stop',
  UNSUBSCRIBE: 'stop',
  CANCEL: 'stop',
  END: 'stop',
  QUIT: 'stop',
  HELP: 'help',
  INFO: 'help',
  START: 'start',
  UNSTOP: 'start',
  YES: 'start',
};

const MAX_REPLY_LENGTH = 64;

/**
 * Reads a reply text, once per text: `0` reports fraud; digits are the code followed by the PIN, with or without
 * a space (`123456 4321` and `1234564321`); carrier keywords are recognised in any case. Which verification the
 * digits answer (and so how long its code is) is known only later: `splitAnswer` cuts them then.
 */
export function parseSmsReply(body: string): ParsedReply {
  const text = body.normalize('NFKC').trim();
  if (text.length === 0 || text.length > MAX_REPLY_LENGTH) return { kind: 'unreadable' };
  const keyword = KEYWORDS[text.toUpperCase()];
  if (keyword) return { kind: 'keyword', keyword };
  const digits = text.replace(/[\s-]+/g, '');
  if (!/^\d+$/.test(digits)) return { kind: 'unreadable' };
  if (digits === '0') return { kind: 'fraud' };
  return { kind: 'answer', digits };
}

/** The code (the first `codeLength` digits) and the PIN (the rest) of an answer. */
export function splitAnswer(digits: string, codeLength: number): { code: string; pin: string } {
  return { code: digits.slice(0, codeLength), pin: digits.slice(codeLength) };
}
