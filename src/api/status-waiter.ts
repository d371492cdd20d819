import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * Long-poll support: one Redis subscription per process hears every flow status change (published by the
 * commit script) and wakes the requests waiting on that flow.
 */
export class StatusWaiter {
  private readonly waiters = new Map<string, Set<() => void>>();
  private ready: Promise<unknown> | null = null;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  start(): Promise<unknown> {
    this.ready ??= this.subscriber.subscribe(this.channel).then(
      () => {
        this.subscriber.on('message', (_channel: string, message: string) => {
          const flowId = message.slice(0, message.indexOf(' '));
          const set = this.waiters.get(flowId);
          if (set) for (const wake of set) wake();
        });
      },
      (error: unknown) => {
        // Redis was down: the next long-poll tries again (a remembered failure would break them for good).
        this.ready = null;
        throw error;
      },
    );
    return this.ready;
  }

  /**
   * Starts listening for a status change of the flow before the caller reads the status, so a change between
   * the read and the wait is not missed. `changed` resolves on a change, on timeout, or on `cancel()`.
   */
  async watch(flowId: string, timeoutMs: number): Promise<{ changed: Promise<void>; cancel: () => void }> {
    await this.start();
    let cancel = () => {};
    const changed = new Promise<void>((resolve) => {
      const set = this.waiters.get(flowId) ?? new Set();
      this.waiters.set(flowId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(flowId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      cancel = done;
    });
    return { changed, cancel };
  }

  async stop(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of set) wake();
    try {
      await this.subscriber.quit();
    } catch (err) {
      this.logger.debug({ err }, 'subscriber already closed');
    }
  }
}
