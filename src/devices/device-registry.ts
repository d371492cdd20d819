import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DirectEffects } from '../engine/direct-effects.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { AuditLog } from '../store/audit-log.js';
import type { UserStore } from '../store/user-store.js';
import { type Activations, normalizeActivationCode } from './activations.js';
import type { Device, DeviceKind, DevicePlatform, DevicePublicKey, PipushServerKey } from './device.js';
import type { DeviceStore } from './device-store.js';

export interface NewDevice {
  name: string;
  platform: DevicePlatform;
  publicKey: DevicePublicKey;
  /** Default `dialtone-app`. A `pipush` device takes its activation's id (the token serial) as its id. */
  kind?: DeviceKind;
  /**
   * Work too costly to do for a guess (an RSA-4096 key pair takes about a second): runs only once the code
   * proved right, before the device is stored.
   */
  serverKey?: () => Promise<PipushServerKey>;
}

/** One answer for an unknown, expired, used, exhausted or wrong activation: which one helps only a guesser. */
const refused = () => new AppError('activation_refused');

/** Activation (code -> device) and removal, each audited. */
export class DeviceRegistry {
  constructor(
    private readonly deps: {
      activations: Activations;
      devices: DeviceStore;
      users: UserStore;
      guard: Pick<SecretGuard, 'check' | 'assertMayTry'>;
      audit: AuditLog;
      clock: Clock;
      logger: Logger;
      maxDevices: number;
      /** The mailed notice of a removal: a `notifyUser` job on the effects queue (retried, never lost). */
      effects: Pick<DirectEffects, 'add'>;
    },
  ) {}

  async activate(activationId: string, typedCode: string, device: NewDevice): Promise<Device> {
    const { activations, devices, guard } = this.deps;
    const kind = device.kind ?? 'dialtone-app';
    const userId = await activations.ownerOf(activationId, kind);
    if (!userId || !(await this.deps.users.get(userId))) throw refused();
    await guard.assertMayTry(userId);
    // Checked before the code, so a full device list does not burn the activation.
    if ((await devices.count(userId)) >= this.deps.maxDevices) throw tooManyDevices(this.deps.maxDevices);
    const code = normalizeActivationCode(typedCode, kind);
    const verdict = await guard.check(userId, 'activation-code', async () =>
      code === null ? false : (await activations.redeem(activationId, code, kind)).ok,
    );
    if (!verdict.ok) {
      this.deps.logger.warn({ user: userId, locked: verdict.locked }, 'device activation refused');
      if (verdict.locked) throw new AppError('user_locked');
      throw refused();
    }
    const { serverKey, ...fields } = device;
    const registered = await devices.register(
      {
        ...fields,
        userId,
        kind,
        createdAt: this.deps.clock.now(),
        ...(serverKey ? { serverKey: await serverKey() } : {}),
      },
      this.deps.maxDevices,
      kind === 'pipush' ? activationId : undefined,
    );
    if (!registered) throw tooManyDevices(this.deps.maxDevices);
    await activations.markUsedBy(activationId, registered.id);
    await this.deps.audit.append({
      event: 'device.added',
      userId,
      data: { deviceId: registered.id, name: registered.name, platform: registered.platform, kind },
    });
    this.deps.logger.info({ user: userId, deviceId: registered.id }, 'device activated');
    return registered;
  }

  /**
   * Removes one of the user's devices (from the portal, the API, or the device itself): audited, and the user is
   * mailed a notice (a removal they did not make is worth knowing about). False when there is no such device.
   */
  async remove(userId: string, deviceId: string, by: 'portal' | 'device' | 'api'): Promise<boolean> {
    const removed = await this.deps.devices.remove(userId, deviceId);
    if (removed) {
      await this.deps.audit.append({ event: 'device.removed', userId, data: { deviceId, by } });
      await this.deps.effects.add(`device-removed-${randomUUID()}`, [
        { type: 'notifyUser', userId, changes: ['device-removed'] },
      ]);
      this.deps.logger.info({ user: userId, deviceId, by }, 'device removed');
    }
    return removed;
  }

  /** The user is being deleted: every device and the live activation go (audited; nobody left to mail). */
  async removeAllOf(userId: string): Promise<void> {
    await this.deps.activations.revokeFor(userId);
    const devices = await this.deps.devices.list(userId);
    await this.deps.devices.removeAll(userId);
    for (const device of devices)
      await this.deps.audit.append({
        event: 'device.removed',
        userId,
        data: { deviceId: device.id, by: 'user-deleted' },
      });
  }
}

const tooManyDevices = (max: number) =>
  new AppError('too_many_devices', `A user may have at most ${max} devices; remove one first`);
