import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { translate } from '../../flows/i18n/index.js';
import { pinProblem, pinProblemMessage } from '../../flows/pin-policy.js';
import { newPinProblem } from '../../src/security/new-pin.js';

const phones = ['+12025550147'];

describe('the PIN policy (one function for every caller)', () => {
  const fourToEight = { minLength: 4, maxLength: 8 };
  it.each([
    ['123', 'length'],
    ['123456789', 'length'],
    ['12a4', 'not-digits'],
    ['', 'length'],
    // repeats: one digit, a pair, a longer block
    ['1111', 'trivial'],
    ['000000', 'trivial'],
    ['1212', 'trivial'],
    ['121212', 'trivial'],
    ['123123', 'trivial'],
    ['48214821', 'trivial'],
    // runs up and down, with wrap-around
    ['1234', 'trivial'],
    ['123456', 'trivial'],
    ['12345678', 'trivial'],
    ['9876', 'trivial'],
    ['654321', 'trivial'],
    ['7890', 'trivial'],
    ['890123', 'trivial'],
    ['3210987', 'trivial'],
    // years 1900-2099
    ['1900', 'trivial'],
    ['1987', 'trivial'],
    ['2024', 'trivial'],
    ['2099', 'trivial'],
    // keypad shapes and other favourites
    ['2580', 'trivial'],
    ['159753', 'trivial'],
    ['112233', 'trivial'],
    // the user's phone digits
    ['0147', 'phone-digits'],
    ['202555', 'phone-digits'],
    ['25550147', 'phone-digits'],
    // fine
    ['1899', null],
    ['2100', null],
    ['4821', null],
    ['93715', null],
    ['482193', null],
  ])('%s -> %s', (pin, problem) => {
    expect(pinProblem(pin, fourToEight, phones)).toBe(problem);
  });

  it('takes its lengths from the configuration, and says them in its message', () => {
    const sixToTen = { minLength: 6, maxLength: 10 };
    expect(pinProblem('4821', sixToTen)).toBe('length');
    expect(pinProblem('4821937', sixToTen)).toBeNull();
    expect(pinProblem('48219370516', sixToTen)).toBe('length');
    expect(pinProblemMessage('en', 'length', sixToTen)).toBe('A PIN has 6 to 10 digits.');
    expect(pinProblemMessage('es', 'length', sixToTen)).toBe('Un PIN tiene entre 6 y 10 dígitos.');
    expect(translate('en', 'pin.hint', { min: 6, max: 10 })).toMatch(/^6 to 10 digits/);
  });

  it('never accepts a repeated block or a run, whatever the length', () => {
    const policy = { minLength: 4, maxLength: 12 };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 4, max: 12 }),
        fc.boolean(),
        (d, n, up) => {
          const run = Array.from({ length: n }, (_, i) => (d + (up ? i : -i) + 100) % 10).join('');
          expect(pinProblem(run, policy)).toBe('trivial');
          expect(pinProblem(String(d).repeat(n), policy)).toBe('trivial');
        },
      ),
    );
  });

  it('refuses the current PIN last, through its hash, and spends no hash on a PIN the rules refuse', async () => {
    const policy = { minLength: 4, maxLength: 8 };
    const checked: string[] = [];
    const verify = async (pin: string, hash: string) => {
      checked.push(pin);
      return hash === `hash-of-${pin}`;
    };
    const current = { pinHash: 'hash-of-4821', verify };
    expect(await newPinProblem('4821', policy, phones, current)).toBe('same-as-old');
    expect(await newPinProblem('5937', policy, phones, current)).toBeNull();
    expect(await newPinProblem('1234', policy, phones, current)).toBe('trivial');
    expect(await newPinProblem('4821', policy, phones, { pinHash: null, verify })).toBeNull();
    expect(checked).toEqual(['4821', '5937']);
  });
});
