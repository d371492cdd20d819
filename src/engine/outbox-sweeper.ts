import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { FlowStore } from './flow-store.js';
import type { OutboxRelay } from './outbox-relay.js';

/** Re-enqueues outboxes that a crash left between commit and enqueue. Any process may sweep; enqueue is idempotent. */
export class OutboxSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: FlowStore,
    private readonly relay: OutboxRelay,
    private readonly clock: Clock,
    private readonly options: { intervalMs: number; graceMs: number },
    private readonly logger: Logger,
    private readonly onRelayed: () => void = () => {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      void this.sweepOnce().catch((err) => this.logger.error({ err }, 'outbox sweep failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /** Returns how many outboxes were re-enqueued. */
  sweepOnce(): Promise<number> {
    this.running ??= this.sweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sweep(): Promise<number> {
    const stranded = await this.store.strandedOutboxes(this.clock.now() - this.options.graceMs);
    let relayed = 0;
    for (const { flowId, version } of stranded) {
      const effects = await this.store.readOutbox(flowId, version);
      if (effects) {
        await this.relay.relay(flowId, version, effects);
        relayed += 1;
        this.onRelayed();
        this.logger.warn({ flowId, version, effects: effects.length }, 're-enqueued a stranded outbox');
      } else {
        await this.store.ackOutbox(flowId, version);
      }
    }
    return relayed;
  }
}
