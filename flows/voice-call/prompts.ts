import type { MessageKey } from '../i18n/index.js';
import { type PinProblem, pinProblemKey } from '../pin-policy.js';
import type { VoiceCallContext } from './machine.js';

export interface PromptLine {
  key: MessageKey;
  params?: Record<string, string | number>;
}

export interface PromptSpec {
  lines: PromptLine[];
  next: { kind: 'gather'; finishOnKey: '#' | ''; maxDigits: number; timeoutSec: number } | { kind: 'hangup' };
}

/** Keys accepted before a '#'-ended gather submits by itself: far above any PIN, so a flood ends early. */
export const MAX_GATHER_DIGITS = 20;

/**
 * What the caller hears in a state: pure, from the snapshot alone, so every adapter (cXML, Relay) and every
 * duplicate webhook renders the same prompt for the same state.
 */
export function promptFor(value: unknown, context: VoiceCallContext, promptTimeoutSec: number): PromptSpec {
  const step =
    typeof value === 'object' && value !== null ? (value as { answered?: string }).answered : undefined;
  const hangup = (key: MessageKey): PromptSpec => ({ lines: [{ key }], next: { kind: 'hangup' } });
  const gather = (lines: PromptLine[], finishOnKey: '#' | '' = '#'): PromptSpec => ({
    lines: [...problemLines(context), ...lines],
    next: {
      kind: 'gather',
      finishOnKey,
      maxDigits: finishOnKey ? MAX_GATHER_DIGITS : 1,
      timeoutSec: promptTimeoutSec,
    },
  });
  switch (step ?? value) {
    case 'ask': {
      const first = context.prompts <= 1 && context.problem === null;
      const standard = context.mode === 'standard';
      const ask: PromptLine = { key: `voice.ask.${context.mode}` };
      const lines: PromptLine[] = first
        ? [
            { key: 'voice.greeting', params: { service: context.service } },
            ask,
            { key: standard ? 'voice.fraud-hint.standard' : 'voice.fraud-hint' },
          ]
        : [ask];
      return gather(lines, standard ? '' : '#');
    }
    case 'newPin':
      return gather([
        { key: 'voice.new-pin', params: { min: context.pinLength.min, max: context.pinLength.max } },
      ]);
    case 'confirmPin':
      return gather([{ key: 'voice.confirm-pin' }]);
    case 'verified':
      return hangup('voice.verified');
    case 'rejected':
      return hangup('voice.failed');
    case 'fraud':
      return hangup('voice.fraud');
    default:
      return hangup('voice.goodbye');
  }
}

function problemLines(context: VoiceCallContext): PromptLine[] {
  const { problem } = context;
  if (!problem) return [];
  // A refused new PIN is told in the words of the PIN policy, the same as in the portal.
  const key: MessageKey = problem.startsWith('weak:')
    ? pinProblemKey(problem.slice('weak:'.length) as PinProblem)
    : `voice.problem.${problem as 'wrong' | 'no-input' | 'mismatch'}`;
  return [{ key, params: { min: context.pinLength.min, max: context.pinLength.max } }];
}
