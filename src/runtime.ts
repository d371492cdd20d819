import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { flowRegistry } from '../flows/registry.js';
import { smsWebhooks } from '../webhooks/sms-webhooks.js';
import { voiceWebhooks } from '../webhooks/voice-webhooks.js';
import { AdminChanges } from './api/admin-changes.js';
import { bearerAuth } from './api/bearer-auth.js';
import { deviceAdminRoutes } from './api/device-admin-routes.js';
import { healthRoutes } from './api/health-routes.js';
import { StatusWaiter } from './api/status-waiter.js';
import { totpAdminRoutes } from './api/totp-admin-routes.js';
import { usersRoutes } from './api/users-routes.js';
import { verificationsRoutes } from './api/verifications-routes.js';
import { buildApp } from './app.js';
import type { MessagingCarrier } from './carriers/messaging-port.js';
import {
  type ManagedVoiceCarrier,
  SIMULATOR_PROJECT_ID,
  selectCarrier,
  selectVoiceCarrier,
  simulatorApiToken,
} from './carriers/select-carrier.js';
import { SimulatorCallCenter, simulatorCallRoutes } from './carriers/simulator/simulator-call-routes.js';
import { SimulatorCallStore } from './carriers/simulator/simulator-calls.js';
import { simulatorRoutes } from './carriers/simulator/simulator-routes.js';
import { SimulatorStore } from './carriers/simulator/simulator-store.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/load-config.js';
import { authenticatorAppRoutes } from './devices/authenticator-app-routes.js';
import { createMobileApp, type MobileApp } from './devices/mobile-app.js';
import type { Directory } from './directory/directory.js';
import { createEffectHandlers } from './effects/effect-handlers.js';
import { ChildFlows } from './engine/child-flows.js';
import { DirectEffects } from './engine/direct-effects.js';
import { type EngineHooks, FlowEngine } from './engine/engine.js';
import { FlowStore } from './engine/flow-store.js';
import { Keys } from './engine/keys.js';
import { OutboxRelay } from './engine/outbox-relay.js';
import { OutboxSweeper } from './engine/outbox-sweeper.js';
import { createQueues, type EngineQueues } from './engine/queues.js';
import { type EngineWorkers, startWorkers } from './engine/workers.js';
import type { Logger } from './log.js';
import {
  createDevMailbox,
  createSmtpMailer,
  type DevMailbox,
  devMailRoutes,
  type Mailer,
} from './mail/index.js';
import { EngineMetrics } from './metrics/engine-metrics.js';
import { metricsRoute, startMetricsServer } from './metrics/metrics-routes.js';
import { accountRoutes } from './portal/account-routes.js';
import { enrollmentRoutes } from './portal/enrollment-routes.js';
import { afterPortalLogin } from './portal/portal-accounts.js';
import { createPortalSessionStore, portalFoundation } from './portal/portal-foundation.js';
import type { PortalPagesDeps } from './portal/portal-pages.js';
import { secondFactorRoutes } from './portal/second-factor-routes.js';
import type { PortalSessionStore } from './portal/session-store.js';
import { QuestionStore } from './questions/index.js';
import {
  logConnectionTrouble,
  REQUEST_REDIS_OPTIONS,
  RedisAvailability,
} from './redis/redis-availability.js';
import { connectRedis } from './redis/redis-connection.js';
import { SecretHasher } from './security/pin-hash.js';
import { SecretGuard } from './security/secret-guard.js';
import { CodeSecrets, derivedKey } from './security/secrets.js';
import { AuditLog } from './store/audit-log.js';
import { RateLimiter } from './store/rate-limiter.js';
import { SmsDirectory } from './store/sms-directory.js';
import { UserStore } from './store/user-store.js';
import { TotpService } from './totp/totp-service.js';
import { TotpStore } from './totp/totp-store.js';
import { UserDeletion } from './users/user-deletion.js';
import { SmsInbound } from './verification/sms-inbound.js';
import { TotpVerifications } from './verification/totp-verifications.js';
import { VerificationService } from './verification/verification-service.js';
import { VoiceCalls } from './verification/voice-calls.js';

/** How long a commit waits for a replica's acknowledgement when REDIS_REQUIRE_REPLICA is on. */
const REPLICA_WAIT_MS = 1000;

export interface RuntimeOptions {
  clock?: Clock;
  hooks?: EngineHooks;
  /** Replace the configured carriers (tests of carrier failures). */
  carrier?: MessagingCarrier;
  voiceCarrier?: ManagedVoiceCarrier;
  /** The company directory the portal signs users in against (absent: no portal). */
  directory?: Directory;
  /** Test knob: login failure padding in milliseconds. */
  loginPaddingMs?: number;
  /** Whether this process runs BullMQ workers and the sweeper (default true). */
  workers?: boolean;
}

/**
 * Production never runs on development stand-ins: loadConfig already refuses them, and a configuration built
 * some other way (a test, an embedding) meets the same rule here.
 */
export function assertNoDevelopmentTools(config: Pick<Config, 'env' | 'carrier' | 'mail'>): void {
  if (config.env !== 'production') return;
  if (config.carrier === 'simulator')
    throw new Error('production: the simulator carrier is a development tool');
  if (!config.mail.smtpUrl)
    throw new Error('production: SMTP_URL is required (the dev mailbox is for development)');
}

/** The composition root: every long-lived part, wired once, with one way to start and one to stop. */
export class Runtime {
  readonly keys: Keys;
  readonly redis: Redis;
  readonly store: FlowStore;
  readonly engine: FlowEngine;
  readonly users: UserStore;
  readonly sms: SmsDirectory;
  readonly verifications: VerificationService;
  readonly inbound: SmsInbound;
  /** Effect jobs with no flow behind them (keyword answers, admin and portal notices). */
  readonly directEffects: DirectEffects;
  readonly sweeper: OutboxSweeper;
  readonly carrier: MessagingCarrier;
  readonly voice: VoiceCalls;
  readonly voiceCarrier: ManagedVoiceCarrier;
  readonly mailer: Mailer;
  readonly devMailbox: DevMailbox | null;
  readonly questions: QuestionStore;
  readonly portalSessions: PortalSessionStore;
  readonly audit: AuditLog;
  readonly guard: SecretGuard;
  readonly hasher: SecretHasher;
  readonly clock: Clock;
  readonly relay: OutboxRelay;
  readonly mobile: MobileApp;
  readonly totp: TotpService;
  readonly metrics: EngineMetrics;
  private metricsServer: FastifyInstance | null = null;
  private readonly totpStore: TotpStore;
  private readonly queueConnection: Redis;
  private readonly producerConnection: Redis;
  readonly availability: RedisAvailability;
  private readonly queues: EngineQueues;

  /** The effects queue (tests wait for it to drain before they count what happened). */
  get effectsQueue(): EngineQueues['effects'] {
    return this.queues.effects;
  }

  /** The timers queue (tests wait for fired timers to finish before they count). */
  get timersQueue(): EngineQueues['timers'] {
    return this.queues.timers;
  }
  private readonly waiter: StatusWaiter;
  private workers: EngineWorkers | null = null;
  private appInstance: FastifyInstance | null = null;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    private readonly options: RuntimeOptions = {},
  ) {
    assertNoDevelopmentTools(config);
    this.clock = options.clock ?? systemClock;
    for (const warning of config.warnings) logger.warn({ setting: warning }, 'weak setting');
    this.keys = new Keys(config.redisPrefix);
    // Connections that serve requests give up quickly when Redis is down (503, not a hang).
    this.redis = connectRedis(config, { ...REQUEST_REDIS_OPTIONS, lazyConnect: false });
    this.availability = new RedisAvailability(this.redis);
    // BullMQ workers want their own connection without a per-request retry limit: they wait Redis out.
    this.queueConnection = connectRedis(config, { maxRetriesPerRequest: null });
    // Enqueueing happens inside requests (the outbox relay): bounded too; the sweeper relays what it missed.
    this.producerConnection = connectRedis(config, REQUEST_REDIS_OPTIONS);
    this.store = new FlowStore(
      this.redis,
      this.keys,
      config.redisRequireReplica ? { timeoutMs: REPLICA_WAIT_MS } : null,
    );
    this.queues = createQueues(this.producerConnection, this.keys.queuePrefix());
    const subscriber = connectRedis(config, REQUEST_REDIS_OPTIONS);
    for (const [name, connection] of [
      ['requests', this.redis],
      ['queues', this.queueConnection],
      ['producer', this.producerConnection],
      ['status', subscriber],
    ] as const)
      logConnectionTrouble(connection, name, logger);
    const relay = new OutboxRelay(this.store, this.queues, this.clock, logger);
    this.relay = relay;
    this.metrics = new EngineMetrics({
      queueCounts: async () => ({
        effects: await this.queues.effects.getJobCounts('waiting', 'active', 'delayed', 'failed'),
        timers: await this.queues.timers.getJobCounts('waiting', 'active', 'delayed', 'failed'),
      }),
      pendingOutboxes: () => this.store.pendingOutboxCount(),
    });
    this.engine = new FlowEngine({
      store: this.store,
      relay,
      registry: flowRegistry,
      clock: this.clock,
      logger,
      observer: this.metrics,
      ...(options.hooks ? { hooks: options.hooks } : {}),
    });
    this.sweeper = new OutboxSweeper(this.store, relay, this.clock, config.sweep, logger, () =>
      this.metrics.sweeperRelayed(),
    );
    this.users = new UserStore(this.redis, this.keys);
    // Without an SMTP server, mail lands in a development mailbox shown at /dev/mail.
    this.devMailbox = config.mail.smtpUrl
      ? null
      : createDevMailbox(this.redis, this.keys, this.clock, { from: config.mail.from });
    this.mailer = config.mail.smtpUrl
      ? createSmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from }, logger)
      : (this.devMailbox as DevMailbox);
    this.questions = new QuestionStore(this.redis, this.keys);
    this.audit = new AuditLog(this.redis, this.keys, this.clock, (event) => this.metrics.audited(event));
    this.guard = new SecretGuard({
      users: this.users,
      clock: this.clock,
      config,
      audit: this.audit,
      logger,
    });
    this.portalSessions = createPortalSessionStore({ redis: this.redis, keys: this.keys, clock: this.clock });
    this.sms = new SmsDirectory(this.redis, this.keys);
    const secrets = new CodeSecrets(config.secretKey);
    this.hasher = new SecretHasher(config.secretKey);
    this.carrier = options.carrier ?? selectCarrier(config, logger);
    this.directEffects = new DirectEffects(this.queues.effects);
    this.mobile = createMobileApp({
      config,
      redis: this.redis,
      keys: this.keys,
      engine: this.engine,
      users: this.users,
      secrets,
      hasher: this.hasher,
      secretKey: config.secretKey,
      limiter: new RateLimiter(this.redis, this.keys),
      audit: this.audit,
      guard: this.guard,
      clock: this.clock,
      logger,
      effects: this.directEffects,
    });
    this.voice = new VoiceCalls({
      config,
      engine: this.engine,
      users: this.users,
      secrets,
      hasher: this.hasher,
      clock: this.clock,
      logger,
    });
    this.voiceCarrier = options.voiceCarrier ?? selectVoiceCarrier(config, this.voice, logger);
    this.totpStore = new TotpStore(this.redis, this.keys);
    this.totp = new TotpService({
      store: this.totpStore,
      guard: this.guard,
      clock: this.clock,
      secretKey: config.secretKey,
      issuer: config.serviceName,
    });
    this.verifications = new VerificationService({
      voice: this.voice,
      push: this.mobile.push,
      totp: new TotpVerifications({
        engine: this.engine,
        totp: this.totp,
        clock: this.clock,
        maxAttempts: config.otp.maxAttempts,
      }),
      config,
      engine: this.engine,
      users: this.users,
      sms: this.sms,
      limiter: new RateLimiter(this.redis, this.keys),
      secrets,
      hasher: this.hasher,
      guard: this.guard,
      clock: this.clock,
    });
    this.inbound = new SmsInbound({
      config,
      engine: this.engine,
      sms: this.sms,
      verifications: this.verifications,
      effects: this.directEffects,
      clock: this.clock,
      logger,
    });
    this.waiter = new StatusWaiter(
      connectRedis(config, REQUEST_REDIS_OPTIONS),
      this.keys.statusChannel(),
      logger,
    );
    this.handlers = createEffectHandlers({
      config,
      carrier: () => this.carrier,
      voice: () => this.voiceCarrier,
      engine: () => this.engine,
      children: new ChildFlows({
        engine: () => this.engine,
        start: (child, link) => this.verifications.startChild(child, link),
        clock: this.clock,
        logger,
      }),
      sessions: this.portalSessions,
      notifier: () => this.mobile.notifier,
      mailer: this.mailer,
      questions: this.questions,
      secrets,
      sms: this.sms,
      users: this.users,
      guard: this.guard,
      audit: this.audit,
      clock: this.clock,
      logger,
      onCarrierError: (type, status) => this.metrics.carrierError(type, status),
    });
  }

  private readonly handlers: ReturnType<typeof createEffectHandlers>;

  async app(): Promise<FastifyInstance> {
    if (this.appInstance) return this.appInstance;
    const { config } = this;
    const publicPlugins = [
      healthRoutes({
        redis: this.redis,
        redisConnected: () => this.availability.connected,
        workersRunning: () => this.options.workers === false || (this.workers?.isRunning() ?? false),
        carrier: () => this.carrier,
        voiceCarrier: () => this.voiceCarrier,
      }),
      voiceWebhooks({
        signingKey: config.signingKey,
        publicUrl: config.publicUrl,
        calls: this.voice,
        logger: this.logger,
      }),
      smsWebhooks({
        signingKey: config.signingKey,
        publicUrl: config.publicUrl,
        inbound: this.inbound,
        logger: this.logger,
      }),
      this.mobile.routes(),
      authenticatorAppRoutes(),
      ...this.mobile.pipushRoutes(),
    ];
    // Metrics on the main server only behind their token; with METRICS_PORT they get a listener of their own.
    if (config.metrics.token && !config.metrics.port)
      publicPlugins.push(metricsRoute(this.metrics, config.metrics.token));
    // Development tools are never mounted in production, whatever else the configuration says.
    const development = config.env !== 'production';
    if (this.devMailbox && development) publicPlugins.push(devMailRoutes({ mailbox: this.devMailbox }));
    if (config.carrier === 'simulator' && development) {
      const simulator = {
        signingKey: config.signingKey,
        publicUrl: config.publicUrl,
        projectId: SIMULATOR_PROJECT_ID,
        apiToken: simulatorApiToken(config.signingKey),
        serviceNumber: config.signalwire.fromNumber,
        clock: this.clock,
        logger: this.logger,
      };
      const callStore = new SimulatorCallStore(this.redis, this.keys);
      // One call center for the control API and the dev phone, so both share each call's ordering.
      const calls = new SimulatorCallCenter({ ...simulator, callStore });
      publicPlugins.push(
        simulatorRoutes({ ...simulator, store: new SimulatorStore(this.redis, this.keys), calls }),
        simulatorCallRoutes({ ...simulator, callStore, center: calls }),
      );
    }
    const directory = this.options.directory;
    if (directory) {
      const limiter = new RateLimiter(this.redis, this.keys);
      const pages: PortalPagesDeps = {
        config,
        engine: this.engine,
        users: this.users,
        verifications: this.verifications,
        questions: this.questions,
        effects: this.directEffects,
        guard: this.guard,
        hasher: this.hasher,
        limiter,
        clock: this.clock,
        logger: this.logger,
      };
      publicPlugins.push(
        portalFoundation({
          directory,
          redis: this.redis,
          keys: this.keys,
          clock: this.clock,
          logger: this.logger,
          publicUrl: config.publicUrl,
          limiter,
          sessions: this.portalSessions,
          serviceName: config.serviceName,
          placeholderHome: false,
          csrfKey: derivedKey(config.secretKey, 'portal-login-csrf'),
          ...(this.options.loginPaddingMs !== undefined
            ? { loginLimits: { minFailureMs: this.options.loginPaddingMs } }
            : {}),
          afterLogin: afterPortalLogin({
            config,
            directory,
            users: this.users,
            clock: this.clock,
            logger: this.logger,
          }),
          pages: [secondFactorRoutes(pages), accountRoutes(pages), enrollmentRoutes(pages)],
        }),
      );
    }
    this.appInstance = await buildApp(
      config,
      this.logger,
      {
        public: publicPlugins,
        authenticated: {
          auth: bearerAuth(config.apiKey),
          routes: [
            usersRoutes({
              users: this.users,
              guard: this.guard,
              hasher: this.hasher,
              clock: this.clock,
              adminChanges: new AdminChanges({ audit: this.audit, effects: this.directEffects }),
              deletion: new UserDeletion({
                users: this.users,
                devices: this.mobile.registry,
                totp: this.totpStore,
                sessions: this.portalSessions,
              }),
              phonePolicy: config.phones,
              pinPolicy: config.pin,
              defaults: { language: config.defaultLanguage },
            }),
            verificationsRoutes({ verifications: this.verifications, waiter: this.waiter }),
            deviceAdminRoutes({ users: this.users, mobile: this.mobile, publicUrl: config.publicUrl }),
            totpAdminRoutes({ users: this.users, totp: this.totp }),
          ],
        },
      },
      {
        redisAvailable: () => this.availability.available,
        onWebhook: (route, status) => this.metrics.webhook(route, status),
        requestLimit: {
          max: config.rateLimit.max,
          windowSeconds: config.rateLimit.windowSeconds,
          redis: this.redis,
          nameSpace: `${this.keys.tag}:http-rate:`,
        },
      },
    );
    return this.appInstance;
  }

  /** Starts the carrier, the workers and the sweeper, then listens. */
  async start(): Promise<string> {
    const app = await this.app();
    await this.carrier.start({
      onInbound: (sms) => this.inbound.onInbound(sms),
      onStatus: (update) => this.inbound.onStatus(update),
    });
    await this.voiceCarrier.start?.();
    const mail = await this.mailer.check();
    if (!mail.ok) this.logger.warn({ detail: mail.detail }, 'mail is not ready; notices will be retried');
    this.startWorkers();
    const { metrics } = this.config;
    if (metrics.port)
      this.metricsServer = await startMetricsServer(this.metrics, { ...metrics, port: metrics.port });
    return app.listen({ host: this.config.host, port: this.config.port });
  }

  startWorkers(): void {
    if (this.options.workers === false || this.workers) return;
    this.workers = startWorkers({
      connection: this.queueConnection,
      // The done-marker waits Redis out (a failover, an outage) like the job it marks, instead of failing the
      // job after one reconnect: a failed job runs again, and a text whose marker was not written is sent twice.
      redis: this.queueConnection,
      keys: this.keys,
      engine: this.engine,
      handlers: this.handlers,
      logger: this.logger,
      metrics: this.metrics,
      ...(this.config.redisRequireReplica ? { replicaWaitMs: REPLICA_WAIT_MS } : {}),
    });
    this.sweeper.start();
  }

  /**
   * Closes the server, letting requests in flight finish. Node closes the keep-alive connections that are idle
   * when the close starts; one that carries a last request during the close (the workers and the simulator
   * still talk over HTTP) would then be kept until its keep-alive timeout (72 s), so idle ones are closed again
   * until the server has stopped.
   */
  private async closeApp(): Promise<void> {
    const app = this.appInstance;
    if (!app) return;
    const sweep = setInterval(() => app.server.closeIdleConnections(), 200);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
    }
  }

  private async within(work: Promise<unknown> | undefined, ms: number, warning: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    const outcome = await Promise.race([work, late]);
    clearTimeout(timer);
    if (outcome === 'late') this.logger.warn({ ms }, warning);
  }

  /** Stop accepting, finish in-flight requests, close workers (they finish their jobs), then the connections. */
  async stop(): Promise<void> {
    await this.closeApp();
    await this.metricsServer?.close();
    await this.sweeper.stop();
    // A worker whose blocking connection is still reconnecting (after a Redis outage) may never finish closing:
    // give the jobs in flight time, then go on (quitting the connections below ends the wait).
    await this.within(
      this.workers?.close(),
      10_000,
      'workers did not close in time; closing their connections',
    );
    await this.carrier.stop();
    await this.voiceCarrier.stop?.();
    await this.mailer.close();
    await this.options.directory?.close();
    await this.waiter.stop();
    await this.mobile.stop();
    await this.queues.close();
    await Promise.allSettled([
      this.redis.quit(),
      this.queueConnection.quit(),
      this.producerConnection.quit(),
    ]);
  }
}
