import type { Redis } from 'ioredis';
import { StatusWaiter } from '../api/status-waiter.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { DirectEffects } from '../engine/direct-effects.js';
import type { FlowEngine } from '../engine/engine.js';
import type { Keys } from '../engine/keys.js';
import type { Logger } from '../log.js';
import { pipushRoutes } from '../pipush/pipush-routes.js';
import { PipushTokens } from '../pipush/pipush-tokens.js';
import { connectRedis } from '../redis/redis-connection.js';
import type { SecretHasher } from '../security/pin-hash.js';
import { SecretBox } from '../security/secret-box.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { CodeSecrets } from '../security/secrets.js';
import type { AuditLog } from '../store/audit-log.js';
import type { RateLimiter } from '../store/rate-limiter.js';
import type { UserStore } from '../store/user-store.js';
import { PushVerifications } from '../verification/push-verifications.js';
import { Activations } from './activations.js';
import { deviceKeys } from './device-keys.js';
import { type DeviceNotifier, DeviceNotifiers, LongPollNotifier } from './device-notifier.js';
import { DeviceRegistry } from './device-registry.js';
import { deviceRoutes } from './device-routes.js';
import { DeviceStore } from './device-store.js';
import { SignedRequests } from './signed-request.js';
import { loadVapidKeys } from './vapid-keys.js';
import { type PushEndpointPolicy, WebPushNotifier } from './web-push-notifier.js';

/** The mobile app method wired once: devices, activations, push verifications, notifiers, the device API. */
export function createMobileApp(deps: {
  config: Pick<
    Config,
    'env' | 'dataDir' | 'publicUrl' | 'serviceName' | 'fraudBlockDays' | 'push' | 'redisUrl' | 'redisSentinel'
  >;
  redis: Redis;
  keys: Keys;
  engine: FlowEngine;
  users: UserStore;
  secrets: CodeSecrets;
  hasher: Pick<SecretHasher, 'verify'>;
  secretKey: string;
  limiter: RateLimiter;
  audit: AuditLog;
  guard: Pick<SecretGuard, 'check' | 'assertMayTry'>;
  clock: Clock;
  logger: Logger;
  effects: Pick<DirectEffects, 'add'>;
}) {
  const { config, redis, clock, logger } = deps;
  const keys = deviceKeys(deps.keys);
  const devices = new DeviceStore(redis, keys);
  const activations = new Activations(redis, keys, deps.secretKey, clock);
  const push = new PushVerifications({
    settings: {
      ttlSeconds: config.push.ttlSeconds,
      numberDigits: config.push.numberDigits,
      limit: config.push.limit,
      fraudBlockDays: config.fraudBlockDays,
      serviceName: config.serviceName,
      pipushEnabled: config.push.pipush.enabled,
    },
    engine: deps.engine,
    users: deps.users,
    devices,
    secrets: deps.secrets,
    hasher: deps.hasher,
    limiter: deps.limiter,
    redis,
    keys,
    clock,
  });
  const registry = new DeviceRegistry({
    activations,
    devices,
    users: deps.users,
    guard: deps.guard,
    audit: deps.audit,
    clock,
    logger,
    maxDevices: config.push.maxDevices,
    effects: deps.effects,
  });
  const { webPush } = config.push;
  const policy: PushEndpointPolicy = { hosts: webPush.hosts, allowLoopbackHttp: config.env !== 'production' };
  const vapid = webPush.enabled
    ? loadVapidKeys({
        dataDir: config.dataDir,
        publicKey: webPush.publicKey,
        privateKey: webPush.privateKey,
        subject: webPush.subject,
      })
    : null;
  const adapters: DeviceNotifier[] = [new LongPollNotifier(redis, keys)];
  if (vapid) adapters.push(new WebPushNotifier({ devices, users: deps.users, vapid, policy, clock, logger }));
  const notifier = new DeviceNotifiers(adapters, logger);
  const wakeWaiter = new StatusWaiter(connectRedis(config), keys.wakeChannel(), logger);
  const signed = new SignedRequests({ redis, keys, devices, clock });
  // The privacyIDEA Authenticator: another protocol over the same devices, pushes and lockout.
  const pipush = config.push.pipush.enabled
    ? new PipushTokens({
        settings: {
          publicUrl: config.publicUrl,
          serviceName: config.serviceName,
          sslVerify: config.push.pipush.sslVerify,
          presenceOptions: config.push.pipush.presenceOptions,
        },
        activations,
        registry,
        devices,
        push,
        users: deps.users,
        secrets: deps.secrets,
        box: new SecretBox(deps.secretKey, 'pipush-server-key'),
        redis,
        keys,
        clock,
        logger,
      })
    : null;
  return {
    devices,
    activations,
    registry,
    push,
    notifier,
    vapidPublicKey: vapid?.publicKey ?? null,
    /** null when PIPUSH_ENABLED=false (the policy requires the product's own app). */
    pipush,
    routes: () =>
      deviceRoutes({
        publicUrl: config.publicUrl,
        serviceName: config.serviceName,
        signed,
        devices,
        registry,
        push,
        wakeWaiter,
        webPush: vapid ? { publicKey: vapid.publicKey, policy } : null,
        clock,
      }),
    pipushRoutes: () => (pipush ? [pipushRoutes(pipush)] : []),
    stop: () => wakeWaiter.stop(),
  };
}
export type MobileApp = ReturnType<typeof createMobileApp>;
