import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  TOTP_TAGS,
  type TotpCheckEvent,
  type TotpCheckInput,
  totpCheckMachine,
  totpStatusOf,
} from '../../flows/totp-check/machine.js';
import { toEffects } from '../../src/engine/engine.js';

const T0 = Date.UTC(2026, 0, 1);
const input: TotpCheckInput = {
  flowId: 't1',
  userId: 'tina',
  parent: null,
  ttlMs: 300_000,
  maxAttempts: 3,
  at: T0,
  timerToken: 'tok',
};
const events: TotpCheckEvent[] = [
  { type: 'CHECK', at: T0 + 1000, ok: true },
  { type: 'CHECK', at: T0 + 1000, ok: false },
  { type: 'CHECK', at: T0 + 300_000, ok: true },
  { type: 'TIMEOUT', timer: 'expiry', token: 'tok' },
  { type: 'TIMEOUT', timer: 'expiry', token: 'stale' },
  { type: 'CANCEL', at: T0 },
];

function run(sequence: TotpCheckEvent[]) {
  let [snapshot, actions] = initialTransition(totpCheckMachine, input);
  const steps = [toEffects(actions)];
  for (const event of sequence) {
    [snapshot, actions] = transition(
      totpCheckMachine,
      totpCheckMachine.resolveState(
        JSON.parse(JSON.stringify(totpCheckMachine.getPersistedSnapshot(snapshot))),
      ),
      event,
    );
    steps.push(toEffects(actions));
  }
  return { snapshot, steps };
}

describe('totp-check machine', () => {
  it('reaches every verdict; final states ignore everything; tags tell open from final', () => {
    const paths = getShortestPaths(totpCheckMachine, {
      input,
      events,
      serializeState: (s) => JSON.stringify([s.value, s.context.attempts]),
    });
    const statuses = new Set(paths.map((p) => totpStatusOf(p.state)));
    expect([...statuses].sort()).toEqual(['approved', 'canceled', 'expired', 'failed', 'pending']);
    for (const { state } of paths) {
      expect(state.hasTag(TOTP_TAGS.open)).toBe(totpStatusOf(state) === 'pending');
      if (state.status === 'done') {
        for (const event of events) expect(transition(totpCheckMachine, state, event)[0]).toBe(state);
      }
    }
    expect(() => totpStatusOf({ value: 'limbo' })).toThrow(/unknown state/);
  });

  it('tells its parent flow the verdict when it has one', () => {
    const [start] = initialTransition(totpCheckMachine, { ...input, parent: { flowId: 'wizard' } });
    const [, actions] = transition(totpCheckMachine, start, { type: 'CHECK', at: T0 + 1000, ok: true });
    expect(toEffects(actions)).toContainEqual({
      type: 'notifyParent',
      parentId: 'wizard',
      childId: 't1',
      status: 'approved',
    });
  });

  it('schedules its expiry, approves a right code and counts the success', () => {
    const { snapshot, steps } = run([{ type: 'CHECK', at: T0 + 1000, ok: true }]);
    expect(steps[0]).toEqual([
      { type: 'scheduleTimer', timer: 'expiry', token: 'tok', fireAt: T0 + 300_000 },
    ]);
    expect(totpStatusOf(snapshot)).toBe('approved');
    expect(steps[1]).toContainEqual({ type: 'recordOutcome', userId: 'tina', outcome: 'success' });
  });

  it('fails on the third wrong code (one failure for the lockout), expires late codes and on its timer', () => {
    const wrong: TotpCheckEvent = { type: 'CHECK', at: T0 + 1000, ok: false };
    const failed = run([wrong, wrong, wrong]);
    expect([totpStatusOf(failed.snapshot), failed.snapshot.context.reason]).toEqual([
      'failed',
      'too-many-attempts',
    ]);
    expect(failed.steps.flat().filter((e) => e.type === 'recordOutcome')).toHaveLength(1);
    expect(totpStatusOf(run([{ type: 'CHECK', at: T0 + 300_000, ok: true }]).snapshot)).toBe('expired');
    expect(totpStatusOf(run([{ type: 'TIMEOUT', timer: 'expiry', token: 'stale' }]).snapshot)).toBe(
      'pending',
    );
    expect(totpStatusOf(run([{ type: 'TIMEOUT', timer: 'expiry', token: 'tok' }]).snapshot)).toBe('expired');
  });
});
