import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { DeviceKeys } from './device-keys.js';
import { userKeyOf } from './device-store.js';

export interface ChallengeNotice {
  flowId: string;
  userId: string;
  deviceIds: string[];
  expiresAt: number;
}

/** Wakes a user's devices for a new challenge. An adapter never fails the flow: long-poll always works. */
export interface DeviceNotifier {
  readonly name: string;
  notify(notice: ChallengeNotice): Promise<void>;
}

/** Long-poll: wakes every engine process's waiting device requests for the user (Redis pub/sub). */
export class LongPollNotifier implements DeviceNotifier {
  readonly name = 'long-poll';
  constructor(
    private readonly redis: Redis,
    private readonly keys: DeviceKeys,
  ) {}

  async notify(notice: ChallengeNotice): Promise<void> {
    await this.redis.publish(this.keys.wakeChannel(), `${userKeyOf(notice.userId)} challenge`);
  }
}

/** Every adapter in turn; one failing does not keep the others from waking the devices. */
export class DeviceNotifiers implements DeviceNotifier {
  readonly name = 'all';
  constructor(
    private readonly adapters: DeviceNotifier[],
    private readonly logger: Logger,
  ) {}

  async notify(notice: ChallengeNotice): Promise<void> {
    const results = await Promise.allSettled(this.adapters.map((adapter) => adapter.notify(notice)));
    results.forEach((result, i) => {
      if (result.status === 'rejected')
        this.logger.warn(
          { flowId: notice.flowId, notifier: this.adapters[i]?.name, err: result.reason },
          'device notification failed',
        );
    });
  }
}
