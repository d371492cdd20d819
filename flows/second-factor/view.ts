import { type SecondFactorContext, secondFactorMachine } from './machine.js';

type SecondFactorSnapshot = ReturnType<typeof secondFactorMachine.resolveState>;

/** What code outside `flows/` may know of a sign-in's second factor, read through the machine's tags. */
export interface SecondFactorView {
  verified: boolean;
  /** The last call or text failed (its reason is in `context.reason`); the user may start again. */
  refused: boolean;
  /** The verification it waits for, when it waits for one. */
  childId: string | null;
  context: SecondFactorContext;
}

export function secondFactorView(persisted: unknown): SecondFactorView {
  return viewOf(
    secondFactorMachine.resolveState(persisted as Parameters<typeof secondFactorMachine.resolveState>[0]),
  );
}

function viewOf(snapshot: SecondFactorSnapshot): SecondFactorView {
  return {
    verified: snapshot.hasTag('verified'),
    refused: snapshot.hasTag('refused'),
    childId: snapshot.hasTag('waiting-for-child') ? snapshot.context.childId : null,
    context: snapshot.context,
  };
}

/** For the engine (`FlowDefinition.awaitsChild`): whether the sign-in still waits for this child. */
export const signInAwaitsChild = (snapshot: SecondFactorSnapshot, childId: string) =>
  snapshot.hasTag('waiting-for-child') && snapshot.context.childId === childId;
