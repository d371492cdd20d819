/**
 * What an administrator's change to a user (`PATCH /api/v1/users`) leaves behind, as a portal change does: an
 * audit entry naming the actor and the fields, and a notice mailed to the user naming what changed. The notice
 * is a `notifyUser` effect job on the effects queue (the same handler, retries and done-marker as a flow's),
 * so a mail server that is down delays it and a crash does not lose it.
 */
import { randomUUID } from 'node:crypto';
import type { SettingChange } from '../../flows/effects.js';
import type { DirectEffects } from '../engine/direct-effects.js';
import type { AuditLog } from '../store/audit-log.js';
import type { User } from '../users/user.js';

export const ADMIN_ACTOR = 'api-key';

/** The sign-in settings that differ between two versions of a user: phones, PIN, method. */
export function settingChanges(before: User, after: User): SettingChange[] {
  const changes: SettingChange[] = [];
  const phone = (user: User, name: keyof User['phones']) => user.phones[name] ?? null;
  if (
    (['primary', 'extension', 'backup', 'mobile'] as const).some((n) => phone(before, n) !== phone(after, n))
  )
    changes.push('phone');
  if (before.pinHash !== after.pinHash) changes.push('pin');
  if (before.method !== after.method) changes.push('method');
  return changes;
}

export class AdminChanges {
  constructor(private readonly deps: { audit: AuditLog; effects: DirectEffects }) {}

  /** Audits and notifies `changes` made to `username` by the API key; nothing when nothing changed. */
  async record(username: string, changes: readonly SettingChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.deps.audit.append({
      event: 'admin.user-changed',
      userId: username,
      data: { actor: ADMIN_ACTOR, changes: changes.join(',') },
    });
    await this.deps.effects.add(`admin-${randomUUID()}`, [
      { type: 'notifyUser', userId: username, changes: [...changes] },
    ]);
  }
}
