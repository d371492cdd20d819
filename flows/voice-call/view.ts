import type { SnapshotFrom } from 'xstate';
import type { VerificationStatus } from '../effects.js';
import { type VoiceCallContext, voiceCallMachine } from './machine.js';
import { type PromptSpec, promptFor } from './prompts.js';

type VoiceSnapshot = SnapshotFrom<typeof voiceCallMachine>;

/** What the call is waiting for, from the states' tags. */
export type VoiceStep =
  | 'dialing'
  | 'awaiting-pin'
  | 'awaiting-new-pin'
  | 'awaiting-pin-confirmation'
  | 'final';

/** The keys a step gathers (the others gather nothing). */
export type GatheringStep = Exclude<VoiceStep, 'dialing' | 'final'>;

const STEPS: VoiceStep[] = [
  'dialing',
  'awaiting-pin',
  'awaiting-new-pin',
  'awaiting-pin-confirmation',
  'final',
];

const FINAL_STATUS: Record<string, VerificationStatus> = {
  verified: 'approved',
  rejected: 'failed',
  failed: 'failed',
  fraud: 'fraud',
  canceled: 'canceled',
};

function stepOf(snapshot: VoiceSnapshot): VoiceStep {
  const step = STEPS.find((tag) => snapshot.hasTag(tag));
  if (!step) throw new Error(`voice-call: a state without a step tag (${JSON.stringify(snapshot.value)})`);
  return step;
}

/** The verdict of a call. A final state this module does not know is a bug: it throws. */
export function voiceStatusOf(snapshot: VoiceSnapshot): VerificationStatus {
  if (stepOf(snapshot) !== 'final') return 'pending';
  const status = FINAL_STATUS[String(snapshot.value)];
  if (!status) throw new Error(`voice-call: unknown final state ${JSON.stringify(snapshot.value)}`);
  return status;
}

/** What code outside `flows/` may know of a call. */
export interface VoiceView {
  step: VoiceStep;
  /** A pending call is ringing (primary or backup) or answered and prompting; null once it ended. */
  progress: 'calling' | 'answered' | null;
  status: VerificationStatus;
  context: VoiceCallContext;
  /** What the caller hears now (a pure function of the state, so every retry hears the same). */
  prompt(promptTimeoutSec: number): PromptSpec;
}

/** The typed view of a persisted call snapshot (as the flow store holds it). */
export function voiceView(persisted: unknown): VoiceView {
  const snapshot = voiceCallMachine.resolveState(
    persisted as Parameters<typeof voiceCallMachine.resolveState>[0],
  );
  const step = stepOf(snapshot);
  return {
    step,
    progress: step === 'final' ? null : step === 'dialing' ? 'calling' : 'answered',
    status: voiceStatusOf(snapshot),
    context: snapshot.context,
    prompt: (promptTimeoutSec) => promptFor(snapshot.value, snapshot.context, promptTimeoutSec),
  };
}
