/**
 * PIN checks per second, on libuv's thread pool as the server runs them: today's peppered hash (`SecretHasher`)
 * beside a hash in the old format (unpeppered scrypt N=2^14, r=8, p=1), verified by the same code in the same
 * run. Part of `npm run bench`.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { SecretHasher } from '../src/security/pin-hash.js';

const PIN = '482193';
const CONCURRENCY = 8;

/** A hash as the code before the pepper wrote it: `scrypt$16384$8$1$salt$hash`. */
export function oldFormatHash(pin: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(pin.normalize('NFKC'), salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', 16384, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

async function checksPerSecond(hasher: SecretHasher, stored: string, seconds: number): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        if (!(await hasher.verify(PIN, stored))) throw new Error('bench: the PIN did not verify');
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - began) / 1000);
}

export async function pinCheckBench(seconds: number, rounds: number) {
  const hasher = new SecretHasher('bench-secret-key-0123456789');
  const current = await hasher.hash(PIN);
  const old = oldFormatHash(PIN);
  const today: number[] = [];
  const before: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    today.push(await checksPerSecond(hasher, current, seconds));
    before.push(await checksPerSecond(hasher, old, seconds));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
  return [
    {
      metric: 'PIN check (bare: old scrypt 2^14): per second',
      engine: median(today),
      bare: median(before),
      unit: '/s',
      higherIsBetter: true,
    },
  ];
}
