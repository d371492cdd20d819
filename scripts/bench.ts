/**
 * `npm run bench`: the engine's SMS paths beside a bare Fastify server that gives the same replies, measured in
 * the same run on the same machine. Compare the ratios: absolute figures move with the machine's load.
 *
 *   --verifications N   end-to-end verifications (default 200)
 *   --concurrency C     concurrent clients (default 20)
 *   --seconds S         length of each webhook run (default 5)
 *   --rounds R          webhook runs per side; the median is reported (default 3)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SIMULATOR_SERVICE_NUMBER } from '../src/config/load-config.js';
import { computeSignature } from '../src/security/webhook-signature.js';
import { pinCheckBench } from './bench-pin.js';
import { BENCH_API_KEY, BENCH_SIGNING_KEY } from './bench-server.js';

const { values } = parseArgs({
  options: {
    verifications: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(values.verifications);
const C = Number(values.concurrency);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const AUTH = { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' };
const SIGNING_KEY = BENCH_SIGNING_KEY;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] ?? 0) : 0;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function main() {
  // BENCH_PROFILE=1 writes a CPU profile of the server process to ./var/profiles.
  const flags = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=var/profiles'] : [];
  const server = spawn(process.execPath, [...flags, '--import', 'tsx', 'scripts/bench-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
  const { engineUrl, bareUrl } = JSON.parse(line) as { engineUrl: string; bareUrl: string };
  console.log(`bench: ${N} verifications x ${C} concurrent; webhook runs ${ROUNDS} x ${SECONDS}s per side\n`);
  try {
    const webhook = await webhookBench(engineUrl, bareUrl);
    const e2e = await endToEndBench(engineUrl, bareUrl);
    const withPin = await endToEndBench(engineUrl, bareUrl, BENCH_PIN);
    const pinChecks = await pinCheckBench(SECONDS, ROUNDS);
    printTable([...webhook, ...e2e, ...withPin, ...pinChecks]);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
}

/** The PIN of the users of the "with PIN" rows: each reply carries it, and the engine checks its hash. */
const BENCH_PIN = '482193';

async function createUser(base: string, username: string, mobile: string, pin?: string): Promise<void> {
  const response = await fetch(`${base}/api/v1/users`, {
    method: 'POST',
    headers: AUTH,
    body: JSON.stringify({ username, phones: { mobile }, ...(pin ? { pin, pinMustChange: false } : {}) }),
  });
  if (response.status !== 201) throw new Error(`could not create ${username}: ${await response.text()}`);
}

type Row = { metric: string; engine: number; bare: number; unit: string; higherIsBetter: boolean };

async function webhookBench(engineUrl: string, bareUrl: string): Promise<Row[]> {
  // Pending flows whose numbers reply with text that is not a code: each reply is signed, parsed, routed to
  // its flow, transitioned, committed and answered by a text, and the flow stays pending for the next one.
  const phones: string[] = [];
  for (let i = 0; i < 50; i += 1) {
    const mobile = `+1202555${String(7000 + i)}`;
    await createUser(engineUrl, `hook${i}`, mobile);
    await fetch(`${engineUrl}/api/v1/verifications`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ username: `hook${i}` }),
    });
    phones.push(mobile);
  }
  let counter = 0;
  const signedRequest = (base: string) => ({
    method: 'POST' as const,
    path: '/webhooks/sms',
    setupRequest: (request: autocannon.Request) => {
      counter += 1;
      const params = {
        MessageSid: `SMbench${counter.toString(16).padStart(26, '0')}`,
        AccountSid: 'AC0',
        From: phones[counter % phones.length] ?? '',
        To: SIMULATOR_SERVICE_NUMBER,
        Body: 'what is this?',
      };
      return {
        ...request,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-signalwire-signature': computeSignature(SIGNING_KEY, `${base}/webhooks/sms`, params),
        },
        body: new URLSearchParams(params).toString(),
      };
    },
  });
  const measure = async (url: string) => {
    const result = await autocannon({
      url,
      connections: C,
      duration: SECONDS,
      requests: [signedRequest(engineUrl)],
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
    engine.push(await measure(engineUrl));
    bare.push(await measure(bareUrl));
  }
  const errors = engine.reduce((sum, r) => sum + r.errors, 0);
  if (errors) console.log(`warning: ${errors} webhook requests failed`);
  return [
    {
      metric: 'reply webhook: requests per second',
      engine: median(engine.map((r) => r.rps)),
      bare: median(bare.map((r) => r.rps)),
      unit: 'req/s',
      higherIsBetter: true,
    },
    {
      metric: 'reply webhook: p50 latency',
      engine: median(engine.map((r) => r.p50)),
      bare: median(bare.map((r) => r.p50)),
      unit: 'ms',
      higherIsBetter: false,
    },
    {
      metric: 'reply webhook: p99 latency',
      engine: median(engine.map((r) => r.p99)),
      bare: median(bare.map((r) => r.p99)),
      unit: 'ms',
      higherIsBetter: false,
    },
  ];
}

async function endToEndBench(engineUrl: string, bareUrl: string, pin?: string): Promise<Row[]> {
  // Users with a PIN get numbers of their own, so their texts are not mixed with the first run's.
  const offset = pin ? N : 0;
  const name = (i: number) => `e2e${pin ? 'pin' : ''}${i}`;
  for (let i = 0; i < N; i += 1) await createUser(engineUrl, name(i), phoneFor(offset + i), pin);
  const engine = await runVerifications(engineUrl, name, offset, pin);
  const bare = await runVerifications(bareUrl, name, offset, pin);
  if (engine.failures) console.log(`warning: ${engine.failures} verifications did not approve`);
  const label = pin ? 'verification with PIN' : 'verification end to end';
  return [
    {
      metric: `${label}: per second`,
      engine: engine.perSecond,
      bare: bare.perSecond,
      unit: '/s',
      higherIsBetter: true,
    },
    {
      metric: `${label}: p50 latency`,
      engine: percentile(engine.latencies, 50),
      bare: percentile(bare.latencies, 50),
      unit: 'ms',
      higherIsBetter: false,
    },
    {
      metric: `${label}: p99 latency`,
      engine: percentile(engine.latencies, 99),
      bare: percentile(bare.latencies, 99),
      unit: 'ms',
      higherIsBetter: false,
    },
  ];
}

/** start -> the text arrives -> signed reply webhook -> long-poll sees "approved". */
async function runVerifications(base: string, username: (i: number) => string, offset = 0, pin?: string) {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  // biome-ignore lint/suspicious/noExplicitAny: the benchmark reads a few known fields of JSON answers
  const json = async (res: Response) => (await res.json()) as Record<string, any>;
  const one = async (i: number) => {
    const started = performance.now();
    const to = phoneFor(offset + i);
    const { id } = await json(
      await fetch(`${base}/api/v1/verifications`, {
        method: 'POST',
        headers: AUTH,
        body: JSON.stringify({ username: username(i) }),
      }),
    );
    let code = '';
    while (!code) {
      const { messages } = await json(
        await fetch(`${base}/dev/carrier/messages?to=${encodeURIComponent(to)}`),
      );
      code =
        /\b(\d{6})\b/.exec(
          messages.find((m: { direction: string }) => m.direction === 'outbound')?.body ?? '',
        )?.[1] ?? '';
      if (!code) await new Promise((r) => setTimeout(r, 5));
    }
    const params = {
      MessageSid: `SMe2e${i}${Date.now()}`,
      AccountSid: 'AC0',
      From: to,
      To: SIMULATOR_SERVICE_NUMBER,
      Body: pin ? `${code} ${pin}` : code,
    };
    await fetch(`${base}/webhooks/sms`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-signalwire-signature': computeSignature(SIGNING_KEY, `${base}/webhooks/sms`, params),
      },
      body: new URLSearchParams(params),
    });
    const verdict = await json(await fetch(`${base}/api/v1/verifications/${id}?wait=10`, { headers: AUTH }));
    if (verdict.status !== 'approved') failures += 1;
    latencies.push(performance.now() - started);
  };
  const began = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await one(next++);
    }),
  );
  return { latencies, failures, perSecond: N / ((performance.now() - began) / 1000) };
}

const phoneFor = (i: number) => `+1202556${String(i).padStart(4, '0')}`;
function printTable(rows: Row[]) {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(
    `${'metric'.padEnd(52)}${'engine'.padStart(10)}${'bare'.padStart(10)}${'engine/bare'.padStart(13)}`,
  );
  for (const row of rows) {
    // Latencies under a millisecond read as 0 in autocannon's histogram: no ratio then.
    const ratio = row.bare > 0 ? `${(row.engine / row.bare).toFixed(2)}x` : 'n/a (<1 ms)';
    const metric = `${row.metric} (${row.unit})`;
    console.log(
      `${metric.padEnd(52)}${fmt(row.engine).padStart(10)}${fmt(row.bare).padStart(10)}${ratio.padStart(13)}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
