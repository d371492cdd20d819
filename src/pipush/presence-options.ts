import type { CodeSecrets } from '../security/secrets.js';

/**
 * Number matching for an app that cannot have a number typed in: the app shows `count` buttons and the user taps
 * the one shown on the sign-in screen. The right option is the push's own number, so the push machine judges the
 * tap exactly as a typed number; the decoys and the right one's position are derived from the push's nonce with
 * the server key (the same at every poll, and no help in telling the right one apart).
 */
export function presenceOptions(
  secrets: Pick<CodeSecrets, 'codeFor'>,
  push: { flowId: string; nonce: string; digits: number; number: string },
  count: number,
): string[] {
  const decoys = new Set<string>();
  for (let i = 0; decoys.size < count - 1; i += 1) {
    const decoy = secrets.codeFor(push.flowId, `${push.nonce}\0decoy\0${i}`, push.digits);
    if (decoy !== push.number) decoys.add(decoy);
  }
  const position = Number(secrets.codeFor(push.flowId, `${push.nonce}\0position`, 6)) % count;
  const options = [...decoys];
  options.splice(position, 0, push.number);
  return options;
}
