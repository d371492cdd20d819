import { join } from 'node:path';
import { type Config, ConfigError, loadConfig } from './config/load-config.js';
import { startDemoDirectory } from './directory/demo-directory.js';
import { createLdapDirectory } from './directory/ldap-directory.js';
import { createLogger } from './log.js';
import { startEmbeddedRedis } from './redis/embedded-redis.js';
import { checkRedisDurability } from './redis/redis-health-check.js';
import { Runtime } from './runtime.js';

/** `npm start`: configuration, a private Redis when none is configured, the server, and a clean Ctrl-C. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const embedded =
    config.redisUrl || config.redisSentinel
      ? null
      : await startEmbeddedRedis({ dataDir: join(config.dataDir, 'redis'), logger });
  // Without LDAP settings, a demo OpenLDAP seeded from src/directory/demo-users.ldif stands in for the company's.
  if (!config.ldap && config.env === 'production') throw new Error('production: LDAP_URL is required');
  const demo = config.ldap ? null : await startDemoDirectory(config.dataDir, logger);
  const directory = createLdapDirectory(config.ldap ?? demo!.config, logger);
  const runtime = new Runtime(embedded ? { ...config, redisUrl: embedded.url } : config, logger, {
    directory,
  });
  if (!embedded) await checkRedisDurability(runtime.redis, logger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await runtime.stop();
      await demo?.stop();
      await embedded?.stop();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await runtime.start();
  } catch (err) {
    logger.fatal({ err }, 'could not start');
    await runtime.stop().catch(() => {});
    await demo?.stop();
    await embedded?.stop();
    process.exit(1);
  }
  printBanner(config, Boolean(embedded), Boolean(demo));
}

function printBanner(config: Config, embeddedRedis: boolean, demoDirectory: boolean): void {
  const lines = [
    '',
    `  Dialtone MFA is running at ${config.publicUrl}`,
    `  carrier: ${config.carrier}${embeddedRedis ? `, Redis: private (data in ${join(config.dataDir, 'redis')})` : ''}`,
  ];
  lines.push(`  portal: ${config.publicUrl}/login`);
  if (demoDirectory) {
    lines.push('  demo directory users: alice, bob, jose, maria, wei (password: <user>-password)');
  }
  if (config.carrier === 'simulator') lines.push(`  dev phone: ${config.publicUrl}/dev/phone`);
  if (!config.mail.smtpUrl) lines.push(`  dev mailbox: ${config.publicUrl}/dev/mail`);
  if (config.apiKeyGenerated) {
    // Printed, not logged: the generated key is for this development run only.
    lines.push(`  API key (generated for this run; set API_KEY to keep one): ${config.apiKey}`);
  }
  lines.push(
    `  try: curl -H "Authorization: Bearer $API_KEY" ${config.publicUrl}/api/v1/users`,
    '  Ctrl-C stops the server.',
    '',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main();
