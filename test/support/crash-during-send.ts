/**
 * An engine process that runs the effect workers and dies (SIGKILL, no cleanup) once the carrier has accepted
 * `ACCEPTED` texts: after the carrier's acceptance and before those jobs' done-markers, while its other sends are
 * still in flight (they wait a moment before reaching the carrier). Its texts go to the simulator of the server
 * at <public-url> (the surviving process).
 *
 * Usage: `crash-during-send.ts <redis-url> <public-url>`
 */

import type { MessagingCarrier } from '../../src/carriers/messaging-port.js';
import { selectCarrier } from '../../src/carriers/select-carrier.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';
import { TEST_API_KEY, TEST_SIGNING_KEY } from './test-runtime.js';

const [redisUrl = '', publicUrl = ''] = process.argv.slice(2);
const config = loadConfig({
  NODE_ENV: 'test',
  REDIS_URL: redisUrl,
  PUBLIC_URL: publicUrl,
  API_KEY: TEST_API_KEY,
  SIGNING_KEY: TEST_SIGNING_KEY,
  SECRET_KEY: 'test-secret-key-0123456789',
  DATA_DIR: process.env.DATA_DIR ?? '/tmp',
  LOG_LEVEL: 'silent',
});
const ACCEPTED = 3;
const logger = createLogger('silent');
let started = 0;
let accepted = 0;
const real = selectCarrier(config, logger);
const carrier: MessagingCarrier = {
  ...real,
  name: real.name,
  start: (handlers) => real.start(handlers),
  readiness: () => real.readiness(),
  stop: () => real.stop(),
  async sendSms(sms) {
    started += 1;
    if (started > ACCEPTED) await new Promise(() => {}); // in flight when the process dies
    const sent = await real.sendSms(sms);
    accepted += 1;
    if (accepted >= ACCEPTED) process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
    return sent;
  },
};
const runtime = new Runtime(config, logger, { carrier });
await runtime.app();
runtime.startWorkers();
