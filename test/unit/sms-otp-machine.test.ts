import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { smsOtpFlow } from '../../flows/registry.js';
import {
  type SmsOtpEvent,
  type SmsOtpInput,
  smsOtpFence,
  smsOtpMachine,
} from '../../flows/sms-otp/machine.js';
import { toEffects } from '../../src/engine/engine.js';

const T0 = Date.UTC(2026, 0, 1);
const input: SmsOtpInput = {
  flowId: 'f1',
  userId: 'alice',
  to: '+12025550123',
  language: 'en',
  service: 'Dialtone',
  pinRequired: true,
  twoWay: true,
  codeLength: 6,
  ttlMs: 300_000,
  maxAttempts: 3,
  maxSends: 3,
  fraudBlockDays: 90,
  at: T0,
  nonce: 'n1',
  codeDigest: 'good',
  timerToken: 'tok1',
};

/** Runs events through `transition()` from a persisted round-trip each step, as the engine does. */
function run(events: SmsOtpEvent[], start: SmsOtpInput = input) {
  let [snapshot, actions] = initialTransition(smsOtpMachine, start);
  const steps = [{ status: smsOtpFlow.statusOf(snapshot), effects: toEffects(actions) }];
  for (const event of events) {
    const restored = smsOtpMachine.resolveState(
      JSON.parse(JSON.stringify(smsOtpMachine.getPersistedSnapshot(snapshot))),
    );
    [snapshot, actions] = transition(smsOtpMachine, restored, event);
    steps.push({ status: smsOtpFlow.statusOf(snapshot), effects: toEffects(actions) });
  }
  return { snapshot, steps, last: steps[steps.length - 1]! };
}

const answer = (codeDigest: string, pinOk = true, at = T0 + 1000): SmsOtpEvent => ({
  type: 'REPLY',
  at,
  reply: { kind: 'answer', codeDigest, pinOk },
});

describe('sms-otp machine', () => {
  it('texts the code, schedules expiry and supersedes older verifications on start, without the code', () => {
    const { steps } = run([]);
    expect(steps[0]!.status).toBe('pending');
    expect(steps[0]!.effects).toEqual([
      {
        type: 'sendSms',
        to: '+12025550123',
        language: 'en',
        message: 'sms.code.reply-pin',
        params: { service: 'Dialtone' },
        code: { nonce: 'n1', length: 6 },
        fence: 'code:n1',
      },
      { type: 'scheduleTimer', timer: 'expiry', token: 'tok1', fireAt: T0 + 300_000 },
      { type: 'supersedeOlder', to: '+12025550123' },
    ]);
  });

  it('waits for the text of its current code while it waits for an answer (fence), for nothing after', () => {
    expect(smsOtpFence(run([]).snapshot)).toBe('code:n1');
    const resent = run([
      { type: 'RESEND', at: T0 + 1000, nonce: 'n2', codeDigest: 'g2', timerToken: 'tok2' },
    ]);
    expect(smsOtpFence(resent.snapshot)).toBe('code:n2');
    expect(resent.last.effects[1]).toMatchObject({ type: 'sendSms', fence: 'code:n2' });
    expect(smsOtpFence(run([answer('good')]).snapshot)).toBeNull();
    expect(smsOtpFence(run([{ type: 'CANCEL', at: T0 }]).snapshot)).toBeNull();
  });

  it('ends as failed (superseded) when a newer verification texts the number, counting no failure', () => {
    const { last, snapshot } = run([answer('bad'), { type: 'SUPERSEDED', at: T0 + 2000, by: 'f2' }]);
    expect([last.status, snapshot.context.reason]).toEqual(['failed', 'superseded']);
    expect(last.effects.map((e) => e.type)).toEqual(['cancelTimer']);
    const after = run([{ type: 'SUPERSEDED', at: T0, by: 'f2' }, answer('good')]);
    expect([after.last.status, after.last.effects]).toEqual(['failed', []]);
  });

  it('approves a right code with the right PIN and texts the verdict', () => {
    const { last } = run([answer('good')]);
    expect(last.status).toBe('approved');
    expect(last.effects.map((e) => e.type)).toEqual(['sendSms', 'cancelTimer', 'recordOutcome']);
    expect(last.effects[0]).toMatchObject({ message: 'sms.approved' });
    expect(last.effects[2]).toMatchObject({ outcome: 'success' });
  });

  it('treats a right code with a wrong PIN as a wrong answer', () => {
    const { last, snapshot } = run([answer('good', false)]);
    expect(last.status).toBe('pending');
    expect(snapshot.context.attempts).toBe(1);
    expect(last.effects[0]).toMatchObject({ message: 'sms.wrong', params: { remaining: 2 } });
  });

  it('fails after three wrong answers, and a resend does not reset the count', () => {
    const resend: SmsOtpEvent = {
      type: 'RESEND',
      at: T0 + 2000,
      nonce: 'n2',
      codeDigest: 'good2',
      timerToken: 'tok2',
    };
    const { steps, last, snapshot } = run([answer('bad'), answer('bad'), resend, answer('bad')]);
    expect(steps.map((s) => s.status)).toEqual(['pending', 'pending', 'pending', 'pending', 'failed']);
    expect(snapshot.context.reason).toBe('too-many-attempts');
    expect(last.effects.map((e) => e.type)).toEqual(['sendSms', 'cancelTimer', 'recordOutcome']);
    expect(last.effects[0]).toMatchObject({ message: 'sms.failed' });
  });

  it('accepts only the newest code after a resend and moves the expiry timer', () => {
    const resend: SmsOtpEvent = {
      type: 'RESEND',
      at: T0 + 2000,
      nonce: 'n2',
      codeDigest: 'good2',
      timerToken: 'tok2',
    };
    const r = run([resend]);
    expect(r.last.effects).toEqual([
      { type: 'cancelTimer', timer: 'expiry', token: 'tok1' },
      expect.objectContaining({ type: 'sendSms', code: { nonce: 'n2', length: 6 } }),
      { type: 'scheduleTimer', timer: 'expiry', token: 'tok2', fireAt: T0 + 2000 + 300_000 },
    ]);
    expect(run([resend, answer('good')]).last.status).toBe('pending');
    expect(run([resend, answer('good2')]).last.status).toBe('approved');
  });

  it('stops resending after the per-flow limit', () => {
    const resend = (n: number): SmsOtpEvent => ({
      type: 'RESEND',
      at: T0 + n,
      nonce: `n${n}`,
      codeDigest: `d${n}`,
      timerToken: `t${n}`,
    });
    const { snapshot, last } = run([resend(2), resend(3), resend(4)]);
    expect(snapshot.context.sends).toBe(3);
    expect(last.effects).toEqual([]);
  });

  it('expires on its current timer only, then answers a late reply with "expired"', () => {
    expect(run([{ type: 'TIMEOUT', timer: 'expiry', token: 'stale' }]).last.status).toBe('pending');
    const { steps } = run([{ type: 'TIMEOUT', timer: 'expiry', token: 'tok1' }, answer('good')]);
    expect(steps[1]!.status).toBe('expired');
    expect(steps[2]!.status).toBe('expired');
    expect(steps[2]!.effects).toEqual([expect.objectContaining({ type: 'sendSms', message: 'sms.expired' })]);
  });

  it('expires a reply that arrives after the code lapsed even before the timer fires', () => {
    const { last } = run([answer('good', true, T0 + 300_000)]);
    expect(last.status).toBe('expired');
    expect(last.effects[1]).toMatchObject({ message: 'sms.expired' });
  });

  it('reports fraud on 0: blocks the user and audits', () => {
    const { last, snapshot } = run([{ type: 'REPLY', at: T0 + 1, reply: { kind: 'fraud' } }]);
    expect(last.status).toBe('fraud');
    expect(snapshot.context.reason).toBe('reported-by-user');
    expect(last.effects.map((e) => e.type)).toEqual(['cancelTimer', 'sendSms', 'blockUser', 'audit']);
    expect(last.effects[2]).toMatchObject({ userId: 'alice', days: 90 });
  });

  it('answers an unreadable reply with a hint and counts nothing', () => {
    const { last, snapshot } = run([{ type: 'REPLY', at: T0 + 1, reply: { kind: 'unreadable' } }]);
    expect(snapshot.context.attempts).toBe(0);
    expect(last.effects).toEqual([expect.objectContaining({ message: 'sms.unreadable-pin' })]);
  });

  it('checks a code typed on a screen without texting back', () => {
    const wrong = run([{ type: 'CHECK', at: T0 + 1, codeDigest: 'bad', pinOk: true }]);
    expect(wrong.last).toEqual({ status: 'pending', effects: [] });
    const right = run([{ type: 'CHECK', at: T0 + 1, codeDigest: 'good', pinOk: true }]);
    expect(right.last.status).toBe('approved');
    expect(right.last.effects.map((e) => e.type)).toEqual(['cancelTimer', 'recordOutcome']);
  });

  it('fails when the code text cannot be delivered or the number opts out; cancels', () => {
    expect(run([{ type: 'DELIVERY', at: T0, status: 'delivered' }]).last.status).toBe('pending');
    const undelivered = run([{ type: 'DELIVERY', at: T0, status: 'undelivered' }]);
    expect([undelivered.last.status, undelivered.snapshot.context.reason]).toEqual([
      'failed',
      'undeliverable',
    ]);
    const optedOut = run([{ type: 'OPTED_OUT', at: T0 }]);
    expect(optedOut.snapshot.context.reason).toBe('opted-out');
    expect(run([{ type: 'CANCEL', at: T0 }]).last.status).toBe('canceled');
  });

  it('ignores everything once approved', () => {
    const { last } = run([answer('good'), answer('bad'), { type: 'CANCEL', at: T0 }]);
    expect(last).toEqual({ status: 'approved', effects: [] });
  });

  it('words the code text for one-way and PIN-less users', () => {
    expect(run([], { ...input, twoWay: false }).steps[0]!.effects[0]).toMatchObject({
      message: 'sms.code.screen',
    });
    expect(run([], { ...input, pinRequired: false }).steps[0]!.effects[0]).toMatchObject({
      message: 'sms.code.reply',
    });
  });
});
