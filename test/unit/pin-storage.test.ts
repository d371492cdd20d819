import { scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HASH_PARAMS, isSecretHash, SecretHasher } from '../../src/security/pin-hash.js';

const hasher = new SecretHasher('test-secret-key-0123456789');

/** Written by the code before the pepper (commit 5549377, `hashSecret('4821')`). */
const OLD_HASH_OF_4821 =
  'scrypt$16384$8$1$_sA0mQDTYK81emO83lwE-g$ABMxLsUSguDA2FnzKSXCKFmjxSaLCWE5HK5S7zJYXSY';

function plainScrypt(candidate: string, salt: string, N: number): Promise<string> {
  return new Promise((resolve, reject) =>
    scrypt(candidate, Buffer.from(salt, 'base64url'), 32, { N, r: 8, p: 1, maxmem: 64 << 20 }, (err, key) =>
      err ? reject(err) : resolve(key.toString('base64url')),
    ),
  );
}

describe('PIN and answer hashes', () => {
  it('are peppered and versioned: v2$scrypt$N$r$p$salt$hash, a fresh salt each time', async () => {
    const hash = await hasher.hash('482193');
    expect(hash).toMatch(/^v2\$scrypt\$2048\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(HASH_PARAMS).toEqual({ N: 2048, r: 8, p: 1 });
    expect(await hasher.verify('482193', hash)).toBe(true);
    expect(await hasher.verify('482194', hash)).toBe(false);
    expect(await hasher.hash('482193')).not.toBe(hash);
    expect(isSecretHash(hash) && isSecretHash(OLD_HASH_OF_4821)).toBe(true);
  });

  it('give a Redis dump alone nothing: guessing with the stored salt finds no PIN, another key verifies none', async () => {
    const hash = await hasher.hash('4821');
    const [, , n, , , salt, stored] = hash.split('$');
    // The attack that works on an unpeppered hash: hash each candidate with the salt and compare.
    const candidates = ['0000', '1111', '4820', '4821', '4822', '9999'];
    const guesses = await Promise.all(candidates.map((c) => plainScrypt(c, salt!, Number(n))));
    expect(guesses).not.toContain(stored);
    expect(await new SecretHasher('another-secret-key-0123456789').verify('4821', hash)).toBe(false);
    // The same attack finds the PIN in a hash of the old format.
    const [, oldN, , , oldSalt, oldStored] = OLD_HASH_OF_4821.split('$');
    expect(await plainScrypt('4821', oldSalt!, Number(oldN))).toBe(oldStored);
  });

  it('keep verifying hashes written before the pepper, and hand a current one over after a right check', async () => {
    expect(await hasher.verify('4821', OLD_HASH_OF_4821)).toBe(true);
    expect(await hasher.verify('4822', OLD_HASH_OF_4821)).toBe(false);
    expect(hasher.isOutdated(OLD_HASH_OF_4821)).toBe(true);

    const refreshed: string[] = [];
    const keep = async (fresh: string) => void refreshed.push(fresh);
    expect(await hasher.verify('4822', OLD_HASH_OF_4821, keep)).toBe(false);
    expect(refreshed).toEqual([]);
    expect(await hasher.verify('4821', OLD_HASH_OF_4821, keep)).toBe(true);
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]).toMatch(/^v2\$/);
    expect(await hasher.verify('4821', refreshed[0]!)).toBe(true);
    expect(hasher.isOutdated(refreshed[0]!)).toBe(false);
    // A current hash is not handed over again.
    expect(await hasher.verify('4821', refreshed[0]!, keep)).toBe(true);
    expect(refreshed).toHaveLength(1);
  });

  it('refuse anything that is not one of their hashes, without expensive work', async () => {
    const started = performance.now();
    for (const bad of [
      'garbage',
      '',
      'none',
      'scrypt$0$0$0$x$x',
      'scrypt$1048576$8$1$c2FsdA$aGFzaA', // N too large: would cost a second and a gigabyte
      'scrypt$16384$64$1$c2FsdA$aGFzaA',
      'scrypt$1000$8$1$c2FsdA$aGFzaA', // not a power of two
      'v2$scrypt$2048$8$1$c2FsdA',
      'v3$scrypt$2048$8$1$c2FsdA$aGFzaA',
    ]) {
      expect(await hasher.verify('4821', bad)).toBe(false);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
