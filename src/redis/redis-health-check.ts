/**
 * Startup check of the Redis settings the engine relies on: BullMQ and the persisted flows need every key to
 * stay (`maxmemory-policy noeviction`) and to survive a restart (`appendonly yes`).
 */

/** The part of an ioredis client this check uses: `redis.config('GET', name)`. */
export interface RedisConfigClient {
  config(...args: string[]): Promise<unknown>;
}

export interface RedisHealthLogger {
  warn(o: object, m?: string): void;
}

/**
 * Runs `CONFIG GET maxmemory-policy` and `CONFIG GET appendonly`, logs every problem found with
 * `logger.warn` and returns the warnings (empty when the settings are durable).
 */
export async function checkRedisDurability(
  redis: RedisConfigClient,
  logger: RedisHealthLogger,
): Promise<string[]> {
  let policy: string | undefined;
  let appendOnly: string | undefined;
  try {
    policy = configValue(await redis.config('GET', 'maxmemory-policy'), 'maxmemory-policy');
    appendOnly = configValue(await redis.config('GET', 'appendonly'), 'appendonly');
  } catch (error) {
    const warning =
      'Could not check the Redis durability settings (CONFIG GET failed, it may be disabled or renamed): ' +
      'make sure maxmemory-policy is noeviction and appendonly is yes.';
    logger.warn({ check: 'redis-durability', err: errorMessage(error) }, warning);
    return [warning];
  }

  const warnings: { setting: string; value: string | undefined; message: string }[] = [];
  if (policy !== 'noeviction') {
    warnings.push({
      setting: 'maxmemory-policy',
      value: policy,
      message:
        `Redis maxmemory-policy is ${policy ?? 'unknown'}, not noeviction: under memory pressure Redis may ` +
        'evict keys, and BullMQ jobs and in-flight flows may be lost. Set maxmemory-policy noeviction.',
    });
  }
  if (appendOnly !== 'yes') {
    warnings.push({
      setting: 'appendonly',
      value: appendOnly,
      message:
        `Redis appendonly is ${appendOnly ?? 'unknown'}: a Redis restart loses in-flight flows and queued ` +
        'jobs written since the last snapshot. Set appendonly yes.',
    });
  }
  for (const { setting, value, message } of warnings) {
    logger.warn({ check: 'redis-durability', setting, value }, message);
  }
  return warnings.map((w) => w.message);
}

/** Reads `name` from a CONFIG GET reply: `[name, value]` (RESP2) or `{ name: value }` (RESP3 map). */
function configValue(reply: unknown, name: string): string | undefined {
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (String(reply[i]).toLowerCase() === name) return String(reply[i + 1]).toLowerCase();
    }
    return undefined;
  }
  if (reply !== null && typeof reply === 'object') {
    const value = (reply as Record<string, unknown>)[name];
    return value === undefined ? undefined : String(value).toLowerCase();
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
