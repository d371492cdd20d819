/**
 * A separate engine process that dies (SIGKILL, no cleanup) right after its first commit and before enqueueing
 * the effects: the crash the outbox sweeper exists for. Usage:
 *
 * - `crash-after-commit.ts <redis-url> <username>`: dies after starting a verification for the user;
 * - `crash-after-commit.ts <redis-url> --reply <from> <body>`: takes a text reply and dies after committing the
 *   verdict (for a child verification: before `notifyParent` is enqueued).
 */
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';
import { TEST_API_KEY, TEST_SIGNING_KEY } from './test-runtime.js';

const [redisUrl = '', username = '', from = '', body = ''] = process.argv.slice(2);
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
if (username === '--reply') {
  await runtime.inbound.onInbound({ messageSid: `SMcrash${Date.now()}`, from, to: '+12025550100', body });
} else {
  await runtime.verifications.start({ username });
}
