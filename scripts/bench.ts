/**
 * `npm run bench`: the engine as production runs it (compiled build, cXML carrier adapter, its own redis-server)
 * against a fake carrier in a process of its own, beside a bare Fastify server doing the same HTTP work with no
 * logic, in the same run. Each row is the median of its rounds; compare the ratios, since absolute figures move
 * with the machine's load.
 *
 *   --quick             fewer verifications and rounds (about a minute or two)
 *   --verifications N   complete verifications per round and method (default 200, quick 50)
 *   --concurrency C     concurrent clients (default 20)
 *   --seconds S         length of each webhook run (default 5, quick 2)
 *   --rounds R          rounds per side (default 3, quick 2)
 *   --pending P         pending flows the reply webhook is aimed at (default 500, quick 200)
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { computeSignature } from '../src/security/webhook-signature.js';
import {
  activateDevice,
  type BenchUser,
  createUser,
  type Method,
  type RunResult,
  runVerifications,
  startVerification,
} from './bench-flows.js';
import { pinCheckBench } from './bench-pin.js';
import { BENCH_SERVICE_NUMBER, BENCH_SIGNING_KEY } from './bench-server.js';
import { ensureBuild, redisCommandCount, redisUsedMemory, type Stack, startStack } from './bench-stack.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    verifications: { type: 'string' },
    concurrency: { type: 'string', default: '20' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    pending: { type: 'string' },
  },
});
const quick = values.quick;
const N = Number(values.verifications ?? (quick ? 50 : 200));
const C = Number(values.concurrency);
const SECONDS = Number(values.seconds ?? (quick ? 2 : 5));
const ROUNDS = Number(values.rounds ?? (quick ? 2 : 3));
const PENDING = Number(values.pending ?? (quick ? 200 : 500));
const PIN = '482193';

type Row = { metric: string; engine: number; bare: number | null; unit: string };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] ?? 0) : 0;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

let phoneSeq = 0;
const nextPhone = () => `+1202556${String(phoneSeq++).padStart(4, '0')}`;

async function setHandsets(stack: Stack, users: BenchUser[], handset: { pin?: string; silent?: boolean }) {
  await fetch(`${stack.carrierUrl}/control/handsets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ numbers: users.map((u) => u.mobile), ...handset }),
  });
}

/** Waits until Redis has been quiet for a moment (the carrier's last callbacks and the jobs they cause). */
async function settle(stack: Stack): Promise<void> {
  let last = await redisCommandCount(stack.redis);
  for (let i = 0; i < 100; i += 1) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await redisCommandCount(stack.redis);
    if (now - last < 20) return;
    last = now;
  }
}

/** Commands per second Redis runs with nothing to do (BullMQ workers' polling, the sweeper). */
async function idleCommandRate(stack: Stack): Promise<number> {
  await settle(stack);
  const before = await redisCommandCount(stack.redis);
  const began = performance.now();
  await new Promise((r) => setTimeout(r, quick ? 1000 : 2000));
  return ((await redisCommandCount(stack.redis)) - before) / ((performance.now() - began) / 1000);
}

async function verificationRows(
  stack: Stack,
  label: string,
  method: Method,
  pin: string | undefined,
  idle: number,
) {
  const users: BenchUser[] = Array.from({ length: N }, (_, i) => ({
    username: `${method}${pin ? 'pin' : ''}${phoneSeq}x${i}`,
    mobile: nextPhone(),
    ...(pin ? { pin } : {}),
  }));
  for (const user of users) {
    await createUser(stack.engineUrl, user);
    await createUser(stack.bareUrl, user);
    if (method === 'push') await activateDevice(stack.engineUrl, user);
  }
  await setHandsets(stack, users, pin ? { pin } : {});
  const engine: RunResult[] = [];
  const bare: RunResult[] = [];
  const commands: number[] = [];
  const engineCpu: number[] = [];
  const bareCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await settle(stack);
    const cpu0 = stack.engine.cpuMs();
    const cmd0 = await redisCommandCount(stack.redis);
    const began = performance.now();
    engine.push(await runVerifications(stack.engineUrl, method, users, C, false));
    await settle(stack);
    const elapsed = (performance.now() - began) / 1000;
    commands.push(((await redisCommandCount(stack.redis)) - cmd0 - idle * elapsed) / N);
    engineCpu.push((stack.engine.cpuMs() - cpu0) / N);
    const bareCpu0 = stack.bare.cpuMs();
    bare.push(await runVerifications(stack.bareUrl, method, users, C, true));
    bareCpu.push((stack.bare.cpuMs() - bareCpu0) / N);
  }
  const failures = engine.reduce((sum, r) => sum + r.failures, 0);
  if (failures) console.log(`warning: ${failures} ${label} verifications did not approve`);
  const m = (rs: RunResult[], f: (r: RunResult) => number) => median(rs.map(f));
  return [
    {
      metric: `${label}: complete per second`,
      engine: m(engine, (r) => r.perSecond),
      bare: m(bare, (r) => r.perSecond),
      unit: '/s',
    },
    {
      metric: `${label}: p50 start to approved`,
      engine: m(engine, (r) => percentile(r.latencies, 50)),
      bare: m(bare, (r) => percentile(r.latencies, 50)),
      unit: 'ms',
    },
    {
      metric: `${label}: p99 start to approved`,
      engine: m(engine, (r) => percentile(r.latencies, 99)),
      bare: m(bare, (r) => percentile(r.latencies, 99)),
      unit: 'ms',
    },
    { metric: `${label}: Redis commands each`, engine: median(commands), bare: null, unit: 'cmds' },
    { metric: `${label}: server CPU each`, engine: median(engineCpu), bare: median(bareCpu), unit: 'ms' },
  ] satisfies Row[];
}

/** Replies that are not a code, aimed at PENDING pending verifications whose handsets stay silent. */
async function webhookRows(stack: Stack): Promise<Row[]> {
  const users: BenchUser[] = Array.from({ length: PENDING }, (_, i) => ({
    username: `hook${i}`,
    mobile: nextPhone(),
  }));
  await setHandsets(stack, users, { silent: true });
  for (const user of users) await createUser(stack.engineUrl, user);
  await settle(stack);
  const memoryBefore = await redisUsedMemory(stack.redis);
  for (let i = 0; i < users.length; i += C)
    await Promise.all(users.slice(i, i + C).map((u) => startVerification(stack.engineUrl, u, 'sms')));
  await settle(stack);
  const perFlow = ((await redisUsedMemory(stack.redis)) - memoryBefore) / users.length;
  let counter = 0;
  const measure = async (url: string) => {
    const result = await autocannon({
      url,
      connections: C,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          path: '/webhooks/sms',
          setupRequest: (request) => {
            counter += 1;
            const params = {
              MessageSid: `SMbench${counter.toString(16).padStart(26, '0')}`,
              AccountSid: 'AC0',
              From: users[counter % users.length]?.mobile ?? '',
              To: BENCH_SERVICE_NUMBER,
              Body: 'what is this?',
            };
            return {
              ...request,
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                'x-signalwire-signature': computeSignature(BENCH_SIGNING_KEY, `${url}/webhooks/sms`, params),
              },
              body: new URLSearchParams(params).toString(),
            };
          },
        },
      ],
    });
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.non2xx + result.errors,
    };
  };
  const engine: Awaited<ReturnType<typeof measure>>[] = [];
  const bare: Awaited<ReturnType<typeof measure>>[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await settle(stack);
    engine.push(await measure(stack.engineUrl));
    bare.push(await measure(stack.bareUrl));
  }
  const errors = engine.reduce((sum, r) => sum + r.errors, 0);
  if (errors) console.log(`warning: ${errors} webhook requests failed`);
  return [
    {
      metric: `reply webhook (${PENDING} pending): requests per second`,
      engine: median(engine.map((r) => r.rps)),
      bare: median(bare.map((r) => r.rps)),
      unit: 'req/s',
    },
    {
      metric: 'reply webhook: p50 latency',
      engine: median(engine.map((r) => r.p50)),
      bare: median(bare.map((r) => r.p50)),
      unit: 'ms',
    },
    {
      metric: 'reply webhook: p99 latency',
      engine: median(engine.map((r) => r.p99)),
      bare: median(bare.map((r) => r.p99)),
      unit: 'ms',
    },
    { metric: 'Redis memory per pending SMS flow', engine: perFlow, bare: null, unit: 'bytes' },
  ];
}

function printTable(rows: Row[]) {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(
    `\n${'metric'.padEnd(58)}${'engine'.padStart(10)}${'bare'.padStart(10)}${'engine/bare'.padStart(13)}`,
  );
  for (const row of rows) {
    // Latencies under a millisecond read as 0 in autocannon's histogram: no ratio then.
    const ratio =
      row.bare === null ? '' : row.bare > 0 ? `${(row.engine / row.bare).toFixed(2)}x` : 'n/a (<1 ms)';
    const bare = row.bare === null ? '' : fmt(row.bare);
    console.log(
      `${`${row.metric} (${row.unit})`.padEnd(58)}${fmt(row.engine).padStart(10)}${bare.padStart(10)}${ratio.padStart(13)}`,
    );
  }
}

async function main() {
  ensureBuild();
  const stack = await startStack();
  console.log(
    `bench${quick ? ' --quick' : ''}: ${N} verifications x ${ROUNDS} rounds per method, ${C} concurrent; ` +
      `webhook runs ${ROUNDS} x ${SECONDS}s at ${PENDING} pending flows`,
  );
  try {
    const rows: Row[] = [
      { metric: 'production start to /readyz', engine: stack.engine.startupMs, bare: null, unit: 'ms' },
      {
        metric: 'server memory after start (RSS)',
        engine: stack.engine.rssBytes() / 2 ** 20,
        bare: null,
        unit: 'MiB',
      },
    ];
    const idle = await idleCommandRate(stack);
    rows.push(...(await verificationRows(stack, 'SMS', 'sms', undefined, idle)));
    rows.push(...(await verificationRows(stack, 'SMS with PIN', 'sms', PIN, idle)));
    rows.push(...(await verificationRows(stack, 'voice (answer + PIN#)', 'voice', PIN, idle)));
    rows.push(
      ...(await verificationRows(stack, 'push (long-poll + signed answer)', 'push', undefined, idle)),
    );
    rows.push(...(await webhookRows(stack)));
    rows.push(...(await pinCheckBench(SECONDS, ROUNDS)).map(({ higherIsBetter: _, ...row }) => row));
    rows.push({
      metric: 'server memory after the load (RSS)',
      engine: stack.engine.rssBytes() / 2 ** 20,
      bare: null,
      unit: 'MiB',
    });
    rows.push({ metric: 'idle Redis commands (subtracted above)', engine: idle, bare: null, unit: '/s' });
    printTable(rows);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
