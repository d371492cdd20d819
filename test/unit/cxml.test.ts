import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { translate } from '../../flows/i18n/index.js';
import {
  type VoiceCallEvent,
  type VoiceCallInput,
  voiceCallMachine,
} from '../../flows/voice-call/machine.js';
import { promptFor } from '../../flows/voice-call/prompts.js';
import type { VoicePrompt } from '../../src/carriers/voice-port.js';
import { renderPrompt } from '../../webhooks/cxml.js';

// An independent XML parser reads what the engine sends a carrier.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => name === 'Say',
});
const parse = (xml: string) => {
  expect(XMLValidator.validate(xml)).toBe(true);
  // biome-ignore lint/suspicious/noExplicitAny: the parsed document is inspected field by field below
  return parser.parse(xml) as { Response: Record<string, any> };
};
const GATHER_URL = 'https://mfa.example.com/webhooks/voice/gather?flow=abc&step=1';

const input: VoiceCallInput = {
  flowId: 'abc',
  userId: 'alice',
  language: 'es',
  service: 'Dialtone <&> "MFA"',
  mode: 'pin',
  to: '+12025550147',
  extension: null,
  backup: null,
  backupOn: [],
  pinMustChange: true,
  codeDigest: null,
  pinLength: { min: 4, max: 8 },
  maxAttempts: 3,
  maxNoInput: 2,
  maxPinChanges: 3,
  ringTimeoutSec: 30,
  maxCallSec: 180,
  machineDetection: true,
  fraudBlockDays: 90,
  at: 0,
  timerToken: 't',
};

/** Each state a call can be in when the carrier asks for cXML, reached through the machine itself. */
function stateAfter(events: VoiceCallEvent[]) {
  let [snapshot] = initialTransition(voiceCallMachine, input);
  for (const event of events) [snapshot] = transition(voiceCallMachine, snapshot, event);
  return snapshot;
}
const answered: VoiceCallEvent = {
  type: 'ANSWERED',
  at: 1,
  callSid: 'CA1',
  answeredBy: 'human',
  callToken: 'c',
};
const keys = (facts: Extract<VoiceCallEvent, { type: 'DIGITS' }>['facts']): VoiceCallEvent => ({
  type: 'DIGITS',
  at: 2,
  callSid: 'CA1',
  facts,
});
const STATES: Record<string, VoiceCallEvent[]> = {
  ask: [answered],
  reAsk: [answered, keys({ result: 'wrong' })],
  newPin: [answered, keys({ result: 'correct' })],
  confirmPin: [answered, keys({ result: 'correct' }), keys({ result: 'accepted', pinHash: 'h' })],
  verified: [
    answered,
    keys({ result: 'correct' }),
    keys({ result: 'accepted', pinHash: 'h' }),
    keys({ result: 'match' }),
  ],
  rejected: [answered, keys({ result: 'wrong' }), keys({ result: 'wrong' }), keys({ result: 'wrong' })],
  fraud: [answered, keys({ result: 'fraud' })],
  calling: [],
};

function promptOf(events: VoiceCallEvent[]): VoicePrompt {
  const snapshot = stateAfter(events);
  const spec = promptFor(snapshot.value, snapshot.context, 10);
  return { say: spec.lines.map((l) => translate('es', l.key, l.params)), language: 'es-ES', next: spec.next };
}

describe('cXML of each voice state', () => {
  for (const [name, events] of Object.entries(STATES)) {
    it(`is valid cXML for ${name}`, () => {
      const prompt = promptOf(events);
      const { Response } = parse(renderPrompt(prompt, GATHER_URL));
      if (prompt.next.kind === 'gather') {
        const gather = Response.Gather;
        expect(gather['@input']).toBe('dtmf');
        expect(gather['@action']).toBe(GATHER_URL);
        expect(gather['@method']).toBe('POST');
        expect(gather['@finishOnKey']).toBe('#');
        expect(gather['@timeout']).toBe('10');
        expect(gather.Say.map((s: { '#text': string }) => s['#text'])).toEqual(prompt.say);
        expect(gather.Say.every((s: Record<string, string>) => s['@language'] === 'es-ES')).toBe(true);
        expect(Response.Redirect['#text']).toBe(`${GATHER_URL}&noinput=1`);
        expect(Response.Hangup).toBeUndefined();
      } else {
        expect(Response.Gather).toBeUndefined();
        expect(Response.Say.map((s: { '#text': string }) => s['#text'])).toEqual(prompt.say);
        expect(Response).toHaveProperty('Hangup');
      }
    });
  }

  it('escapes text and URLs', () => {
    const xml = renderPrompt(promptOf(STATES.ask!), `${GATHER_URL}&x=<"'>`);
    const { Response } = parse(xml);
    expect(Response.Gather.Say[0]['#text']).toContain('Dialtone <&> "MFA"');
    expect(Response.Gather['@action']).toBe(`${GATHER_URL}&x=<"'>`);
  });

  it('asks for one key without a finishing key in standard mode', () => {
    const prompt: VoicePrompt = {
      say: ['Pulse'],
      language: 'es-ES',
      next: { kind: 'gather', finishOnKey: '', maxDigits: 1, timeoutSec: 10 },
    };
    const { Response } = parse(renderPrompt(prompt, GATHER_URL));
    expect([Response.Gather['@finishOnKey'], Response.Gather['@numDigits']]).toEqual(['', '1']);
  });
});
