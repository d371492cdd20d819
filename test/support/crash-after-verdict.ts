/**
 * A separate engine process that takes a text reply for a child verification and dies (SIGKILL, no cleanup)
 * right after committing the child's verdict, before its outbox (with `notifyParent`) is enqueued: the crash
 * between a child's verdict and its parent's update. Usage: crash-after-verdict.ts <redis-url> <from> <body>
 */
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';
import { TEST_API_KEY, TEST_SIGNING_KEY } from './test-runtime.js';

const [redisUrl = '', from = '', body = ''] = process.argv.slice(2);
const config = loadConfig({
  NODE_ENV: 'test',
  REDIS_URL: redisUrl,
  API_KEY: TEST_API_KEY,
  SIGNING_KEY: TEST_SIGNING_KEY,
  SECRET_KEY: 'test-secret-key-0123456789',
  DATA_DIR: process.env.DATA_DIR ?? '/tmp',
  LOG_LEVEL: 'silent',
});
const runtime = new Runtime(config, createLogger('silent'), {
  workers: false,
  hooks: {
    afterCommit: async () => {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    },
  },
});
await runtime.inbound.onInbound({ messageSid: `SMcrash${Date.now()}`, from, to: '+12025550100', body });
