import type { DeviceRegistry } from '../devices/device-registry.js';
import type { PortalSessionStore } from '../portal/session-store.js';
import type { UserStore } from '../store/user-store.js';
import type { TotpStore } from '../totp/totp-store.js';

/**
 * Deleting a user deletes what proves to be her: devices (and a live activation) and the TOTP secret go first,
 * then the record. Left behind, a later user created with the same name would inherit them: an old phone
 * would approve her pushes, an old TOTP secret would pass her codes. Her portal sessions end too.
 */
export class UserDeletion {
  constructor(
    private readonly deps: {
      users: Pick<UserStore, 'get' | 'delete'>;
      devices: Pick<DeviceRegistry, 'removeAllOf'>;
      totp: Pick<TotpStore, 'delete'>;
      sessions: Pick<PortalSessionStore, 'endUserSessions'>;
    },
  ) {}

  /** False when there is no such user (nothing is touched then). */
  async delete(username: string): Promise<boolean> {
    const user = await this.deps.users.get(username);
    if (!user) return false;
    await this.deps.devices.removeAllOf(user.username);
    await this.deps.totp.delete(user.username);
    await this.deps.sessions.endUserSessions(user.username);
    return this.deps.users.delete(user.username);
  }
}
