import type { SnapshotFrom } from 'xstate';
import type { VerificationStatus } from '../effects.js';
import { changesAFactor, type EnrollmentContext, type EnrollmentTag, enrollmentMachine } from './machine.js';

type EnrollmentSnapshot = SnapshotFrom<typeof enrollmentMachine>;

/** The page a wizard shows, one per step. */
export type WizardStep =
  | 'choose-method'
  | 'details'
  | 'confirming-current'
  | 'proving-new'
  | 'saving'
  | 'questions'
  | 'done'
  | 'canceled';

/** Each step's tag, in the order they are asked (a final state also has `final`). */
const STEP_OF_TAG: [EnrollmentTag, WizardStep][] = [
  ['choosing-method', 'choose-method'],
  ['awaiting-details', 'details'],
  ['confirming-current', 'confirming-current'],
  ['proving', 'proving-new'],
  ['saving', 'saving'],
  ['awaiting-questions', 'questions'],
  ['done', 'done'],
  ['canceled', 'canceled'],
];

/** What code outside `flows/` may know of a wizard, read through the machine's tags. */
export interface EnrollmentView {
  step: WizardStep;
  /** The verification the wizard waits for, when it waits for one. */
  childId: string | null;
  status: VerificationStatus;
  context: EnrollmentContext;
}

/** The step a snapshot stands for. A state without a known tag is a bug: it throws. */
function stepOf(snapshot: EnrollmentSnapshot): WizardStep {
  const found = STEP_OF_TAG.find(([tag]) => snapshot.hasTag(tag));
  if (!found) throw new Error(`enrollment: a state without a step tag (${JSON.stringify(snapshot.value)})`);
  return found[1];
}

/** The wizard's verdict: done is approved, canceled is canceled, anything else pending. */
export function enrollmentStatusOf(snapshot: EnrollmentSnapshot): VerificationStatus {
  const step = stepOf(snapshot);
  return step === 'done' ? 'approved' : step === 'canceled' ? 'canceled' : 'pending';
}

/** For the engine (`FlowDefinition.awaitsChild`): whether the wizard still waits for this child. */
export const wizardAwaitsChild = (snapshot: EnrollmentSnapshot, childId: string) =>
  snapshot.hasTag('waiting-for-child') && snapshot.context.childId === childId;

/** The typed view of a persisted wizard snapshot (as the flow store holds it). */
export function enrollmentView(persisted: unknown): EnrollmentView {
  const snapshot = enrollmentMachine.resolveState(
    persisted as Parameters<typeof enrollmentMachine.resolveState>[0],
  );
  return {
    step: stepOf(snapshot),
    childId: snapshot.hasTag('waiting-for-child') ? snapshot.context.childId : null,
    status: enrollmentStatusOf(snapshot),
    context: snapshot.context,
  };
}

/** Whether the wizard's details form asks for the current PIN: a factor change by a user who has one. */
export const asksCurrentPin = (context: EnrollmentContext): boolean =>
  changesAFactor(context) && context.current.hasPin;
