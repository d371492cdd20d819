import { readFile, writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { flowRegistry } from '../flows/registry.js';
import { loadConfig } from '../src/config/load-config.js';
import type { LogEntry } from '../src/engine/flow-store.js';
import { FlowStore } from '../src/engine/flow-store.js';
import { Keys } from '../src/engine/keys.js';
import { embeddedRedisUrl } from '../src/redis/embedded-redis.js';
import { type FlowHeader, headerOf, parseJsonl, replayFlow, toJsonl } from '../src/replay/replay-flow.js';

const USAGE = `usage:
  scripts/replay <flow-id | file.jsonl>        rerun a flow through today's machines; exit 0 identical, 1 diverged
  scripts/replay export <flow-id> [out.jsonl]  write a flow's event log as JSONL (stdout without a file)
Redis: REDIS_URL, else the private Redis that \`npm start\` runs (./var/redis).`;

async function main(argv: string[]): Promise<number> {
  const [first, second, third] = argv;
  if (!first || first === '-h' || first === '--help') {
    console.error(USAGE);
    return 2;
  }
  if (first === 'export') {
    if (!second) {
      console.error(USAGE);
      return 2;
    }
    const { header, log } = await fromRedis(second);
    const text = toJsonl(header, log);
    if (third) await writeFile(third, text);
    else process.stdout.write(text);
    return 0;
  }
  const { header, log } = first.endsWith('.jsonl')
    ? parseJsonl(await readFile(first, 'utf8'))
    : await fromRedis(first);
  return replay(header, log);
}

function replay(header: FlowHeader, log: LogEntry[]): number {
  const definition = flowRegistry.get(header.machine);
  if (!definition) {
    console.error(`unknown machine ${header.machine}`);
    return 1;
  }
  if (definition.version !== header.machineVersion) {
    console.log(
      `note: recorded with ${header.machine} v${header.machineVersion}, replaying on v${definition.version}`,
    );
  }
  console.log(`flow ${header.id} (${header.machine}), ${log.length} recorded steps`);
  const result = replayFlow(definition, header, log);
  for (const step of result.steps) {
    const mark = step.same ? 'ok  ' : 'DIFF';
    const effects = step.replayed.effects.length ? ` [${step.replayed.effects.join(', ')}]` : '';
    console.log(
      `${mark} v${step.version} ${step.event} -> ${JSON.stringify(step.replayed.value)} (${step.replayed.status})${effects}`,
    );
  }
  const diverged = result.firstDivergence;
  if (!diverged) {
    console.log("identical: today's machine reproduces every recorded step");
    return 0;
  }
  console.log(
    `first divergence at v${diverged.version} (${diverged.event}): ${diverged.differences.join(', ')} differ`,
  );
  console.log(`  recorded: ${JSON.stringify(diverged.recorded)}`);
  console.log(`  replayed: ${JSON.stringify(diverged.replayed)}`);
  return 1;
}

async function fromRedis(flowId: string): Promise<{ header: FlowHeader; log: LogEntry[] }> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const url = config.redisUrl ?? (await embeddedRedisUrl(`${config.dataDir}/redis`));
  if (!url) throw new Error('no Redis: set REDIS_URL or start the server with `npm start`');
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const store = new FlowStore(redis, new Keys(config.redisPrefix));
    const flow = await store.load(flowId);
    if (!flow) throw new Error(`no flow ${flowId} (flows are kept 7 days)`);
    return { header: headerOf(flow), log: await store.readLog(flowId) };
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`replay: ${error.message}`);
    process.exit(2);
  },
);
