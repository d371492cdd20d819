import type { Redis } from 'ioredis';
import type { Effect } from '../../flows/effects.js';
import type { Keys } from './keys.js';

/**
 * Whether an effect job may run: not when its done-marker is set (it ran), and, for a fenced effect, only while
 * the flow's fence (written by the commit script with each snapshot) is still the effect's. One read of both, so
 * a job re-run after a crash sees the flow as it is now, not as it was when the job was queued.
 *
 * KEYS: flow, done; ARGV: fence (or ''). Returns 'run' | 'done' | 'stale'.
 */
const EFFECT_GATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'done' end
if ARGV[1] == '' then return 'run' end
if redis.call('HGET', KEYS[1], 'fence') == ARGV[1] then return 'run' end
return 'stale'
`;

export type EffectGate = 'run' | 'done' | 'stale';

export async function effectGate(
  redis: Redis,
  keys: Keys,
  job: { flowId: string; jobId: string; effect: Effect },
): Promise<EffectGate> {
  const fence = 'fence' in job.effect ? (job.effect.fence ?? '') : '';
  const verdict = await redis.eval(EFFECT_GATE, 2, keys.flow(job.flowId), keys.effectDone(job.jobId), fence);
  return verdict as EffectGate;
}
