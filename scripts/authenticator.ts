import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ApiError,
  activate,
  type Challenge,
  DeviceClient,
  type DeviceCredentials,
  parseActivationLink,
} from './authenticator-client.js';

const USAGE = `usage: scripts/authenticator <command> [options]
  activate <activation-url> <code>   register a new device key (or: activate <link from the QR code>)
  list                               show pending sign-in requests
  approve <number> [--pin P]         approve the pending request, typing the number shown on the screen
  deny                               deny the pending request
  fraud                              report the pending request as fraud ("I did not ask for this")
  remove                             unregister this device
options: --file F (default: $AUTHENTICATOR_FILE or ./authenticator-device.json), --name N, --id CHALLENGE,
         --wait SECONDS (how long list/approve/deny/fraud wait for a request, default 25)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      name: { type: 'string' },
      pin: { type: 'string' },
      id: { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  const file = values.file ?? process.env.AUTHENTICATOR_FILE ?? 'authenticator-device.json';
  const wait = Math.min(30, Math.max(0, Number(values.wait ?? 25)));
  if (!command || values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'activate') {
    const fromLink = args.length === 1 ? parseActivationLink(args[0] ?? '') : null;
    const url = fromLink?.url ?? args[0];
    const code = fromLink?.code ?? args[1];
    if (!url || !code) return usage();
    const credentials = await activate(url, code, {
      name: values.name ?? 'Reference authenticator',
      platform: 'cli',
    });
    writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    console.log(
      `activated device ${credentials.deviceId} for ${credentials.username}; key stored in ${file}`,
    );
    return 0;
  }
  const client = new DeviceClient(JSON.parse(readFileSync(file, 'utf8')) as DeviceCredentials);
  if (command === 'list') {
    const challenges = await client.challenges(wait);
    for (const c of challenges) console.log(describe(c));
    if (challenges.length === 0) console.log('no pending requests');
    return 0;
  }
  if (command === 'remove') {
    const response = await client.request('DELETE', '/device');
    if (response.status !== 204) throw new ApiError(response);
    console.log('device removed');
    return 0;
  }
  const decision = { approve: 'approve', deny: 'deny', fraud: 'fraud' }[command] as
    | 'approve'
    | 'deny'
    | 'fraud'
    | undefined;
  if (!decision) return usage();
  const number = decision === 'approve' ? args[0] : undefined;
  if (decision === 'approve' && !number) return usage();
  const challenges = await client.challenges(wait);
  const challenge = values.id ? challenges.find((c) => c.id === values.id) : challenges[0];
  if (!challenge) {
    console.error('no pending request');
    return 1;
  }
  const response = await client.answer(challenge, decision, {
    ...(number ? { number } : {}),
    ...(values.pin ? { pin: values.pin } : {}),
  });
  if (response.status !== 200) throw new ApiError(response);
  console.log(
    `${challenge.id}: ${response.body.status}${response.body.reason ? ` (${response.body.reason})` : ''}`,
  );
  return response.body.status === 'approved' || decision !== 'approve' ? 0 : 1;
}

function describe(c: Challenge): string {
  const from = c.ip ? ` from ${c.ip}` : '';
  const pin = c.pinRequired ? ', PIN required' : '';
  return `${c.id}: ${c.service} sign-in (${c.purpose})${from} at ${c.createdAt}, type the ${c.numberDigits}-digit number${pin}; expires ${c.expiresAt}`;
}

function usage(): number {
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
