/** The typed views code outside `flows/` reads: an unknown state is a bug and throws, never "wrong" or "pending". */
import { describe, expect, it } from 'vitest';
import { smsStatusOf } from '../../flows/sms-otp/view.js';
import type { VoiceCallContext } from '../../flows/voice-call/machine.js';
import { judgeDigits } from '../../src/verification/voice-judge.js';

describe('flow views', () => {
  it('the SMS verdict throws on a state it does not know', () => {
    expect(smsStatusOf({ value: 'superseded' })).toBe('failed');
    expect(() => smsStatusOf({ value: 'limbo' })).toThrow(/unknown state/);
  });

  it('the voice judge throws on a step it does not know instead of calling it a wrong answer', async () => {
    const context = { mode: 'standard', pinLength: { min: 4, max: 8 } } as unknown as VoiceCallContext;
    const judge = (step: string) => judgeDigits(step as never, context, '#', null, {} as never, {} as never);
    await expect(judge('awaiting-pin')).resolves.toEqual({ result: 'correct' });
    await expect(judge('ask')).rejects.toThrow(/unknown step/);
  });
});
