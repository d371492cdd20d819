import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Where queue depths and pending outboxes are read from at scrape time (never on the request path). */
export interface MetricsSources {
  queueCounts(): Promise<Record<string, Record<string, number>>>;
  pendingOutboxes(): Promise<number>;
}

/** Audit events that are counted as metrics, by the counter they move. */
const LOCKOUT_EVENTS: Record<string, string> = { 'user.locked': 'timed', 'user.hard-locked': 'hard' };
const FRAUD_EVENT = 'fraud.reported';

/**
 * The product's Prometheus metrics, in a registry of this runtime's own (several runtimes share a test process).
 * Label values come from small fixed sets (methods, statuses, effect types, route patterns), never from users.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly started = new Counter({
    name: 'dialtone_verifications_started_total',
    help: 'Flows started, by method (sms, voice, push, totp, and the portal flows)',
    labelNames: ['method'],
    registers: [this.registry],
  });
  private readonly finished = new Counter({
    name: 'dialtone_verifications_finished_total',
    help: 'Flows that reached a verdict, by method and status',
    labelNames: ['method', 'status'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'dialtone_verification_duration_seconds',
    help: 'From the start of a flow to its verdict, by method and status',
    labelNames: ['method', 'status'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: 'dialtone_webhook_requests_total',
    help: 'Carrier webhook requests, by route pattern and HTTP status',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });
  private readonly effectJobs = new Counter({
    name: 'dialtone_effect_jobs_total',
    help: 'Effect jobs run by the workers, by effect type and outcome (done, skipped: already done, failed)',
    labelNames: ['type', 'outcome'],
    registers: [this.registry],
  });
  private readonly sweeperRelays = new Counter({
    name: 'dialtone_sweeper_relays_total',
    help: 'Stranded outboxes the sweeper enqueued again (a process died between commit and enqueue)',
    registers: [this.registry],
  });
  private readonly carrierErrors = new Counter({
    name: 'dialtone_carrier_errors_total',
    help: 'Carrier requests refused or unanswered, by effect type and HTTP status (0: no answer)',
    labelNames: ['type', 'status'],
    registers: [this.registry],
  });
  private readonly lockouts = new Counter({
    name: 'dialtone_lockouts_total',
    help: 'Users locked out after failed secret checks, by kind (timed, hard)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly fraudReports = new Counter({
    name: 'dialtone_fraud_reports_total',
    help: 'Fraud reports by users (a 0 reply, 0#, or "I did not ask for this" in the app)',
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'dialtone_queue_jobs',
      help: 'BullMQ jobs by queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        // Redis down: the scrape still answers (Node's metrics matter most then), with the last depths.
        const all = await sources.queueCounts().catch(() => ({}));
        for (const [queue, counts] of Object.entries(all))
          for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
      },
    });
    new Gauge({
      name: 'dialtone_pending_outboxes',
      help: 'Committed outboxes not yet acknowledged as enqueued',
      registers: [this.registry],
      async collect() {
        const pending = await sources.pendingOutboxes().catch(() => null);
        if (pending !== null) this.set(pending);
      },
    });
  }

  flowStarted(method: string): void {
    this.started.inc({ method });
  }

  flowFinished(method: string, status: string, seconds: number): void {
    this.finished.inc({ method, status });
    this.duration.observe({ method, status }, Math.max(0, seconds));
  }

  webhook(route: string, status: number): void {
    this.webhooks.inc({ route, status: String(status) });
  }

  effectJob(type: string, outcome: 'done' | 'skipped' | 'failed'): void {
    this.effectJobs.inc({ type, outcome });
  }

  sweeperRelayed(): void {
    this.sweeperRelays.inc();
  }

  carrierError(type: string, status: number): void {
    this.carrierErrors.inc({ type, status: String(status) });
  }

  /** Audit events double as the lockout and fraud counters, so no caller has to remember both. */
  audited(event: string): void {
    const kind = LOCKOUT_EVENTS[event];
    if (kind) this.lockouts.inc({ kind });
    if (event === FRAUD_EVENT) this.fraudReports.inc();
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
