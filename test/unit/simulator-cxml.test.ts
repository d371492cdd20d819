import { describe, expect, it } from 'vitest';
import {
  CxmlError,
  type CxmlVerb,
  feedKeys,
  type GatherState,
  gatherTimeout,
  MAX_GATHER_BUFFER,
  parseCxml,
  parseXml,
  pressKey,
  resolveUrl,
  runVerbs,
} from '../../src/carriers/simulator/simulator-calls.js';

const PUBLIC = 'https://mfa.example.com';
const DOC = `${PUBLIC}/webhooks/voice?flow=f1`;
const context = { publicUrl: PUBLIC, documentUrl: DOC };

function gather(overrides: Partial<GatherState> = {}): GatherState {
  return {
    action: `${PUBLIC}/webhooks/voice/gather?flow=f1`,
    method: 'POST',
    finishOnKey: '#',
    numDigits: null,
    timeoutSec: 5,
    input: 'dtmf',
    buffer: '',
    onSilence: [{ verb: 'Redirect', url: '/webhooks/voice?flow=f1&silence=1', method: 'POST' }],
    documentUrl: DOC,
    ...overrides,
  };
}

describe('parseXml', () => {
  it('reads the declaration, comments, CDATA, both quote styles, self-closing tags and entities', () => {
    const root = parseXml(
      `\uFEFF<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<Response a="1 &amp; 2" b='x&lt;y'>
  <Say>Fish &amp; chips &#233;&#x41;<![CDATA[ <raw> ]]></Say>
  <Hangup/>
</Response>
<!-- trailing -->`,
    );
    expect(root.name).toBe('Response');
    expect(root.attrs).toEqual({ a: '1 & 2', b: 'x<y' });
    const elements = root.children.filter((child) => typeof child !== 'string');
    expect(elements.map((element) => element.name)).toEqual(['Say', 'Hangup']);
    expect(elements[0]!.children.join('')).toBe('Fish & chips éA <raw> ');
  });

  it.each([
    ['<Response><Say>x</Response>', /closes <Say>/],
    ['<Response>', /not closed/],
    ['<Response/><Response/>', /more than one root/],
    ['hello <Response/>', /text outside/],
    ['<!DOCTYPE x [<!ENTITY a "b">]><Response/>', /DOCTYPE/],
    ['<Response><!-- open', /unterminated comment/],
    ['<Response a=1/>', /malformed/],
    ['', /no root/],
  ])('refuses %j', (xml, message) => {
    expect(() => parseXml(xml)).toThrowError(CxmlError);
    expect(() => parseXml(xml)).toThrowError(message);
  });
});

describe('parseCxml', () => {
  it('maps the supported verbs and their attributes, with defaults', () => {
    const verbs = parseCxml(`<?xml version="1.0"?>
<Response>
  <Say language="es-ES" voice="woman">  Hola,
     amigo  </Say>
  <Pause length="2"/>
  <Gather action="/webhooks/voice/gather?flow=f1&amp;n=1" method="get" numDigits="6" timeout="7">
    <Say>Enter your PIN</Say>
    <Play>https://x/beep.wav</Play>
  </Gather>
  <Gather finishOnKey="" numDigits="1"/>
  <Redirect>/webhooks/voice?flow=f1</Redirect>
  <Hangup/>
  <Reject/>
  <Dial>+15550000</Dial>
  <Redirect>   </Redirect>
</Response>`);
    expect(verbs).toEqual<CxmlVerb[]>([
      { verb: 'Say', text: 'Hola, amigo', language: 'es-ES' },
      { verb: 'Pause', lengthSec: 2 },
      {
        verb: 'Gather',
        action: '/webhooks/voice/gather?flow=f1&n=1',
        method: 'GET',
        finishOnKey: '#',
        numDigits: 6,
        timeoutSec: 7,
        input: 'dtmf',
        prompts: [
          { verb: 'Say', text: 'Enter your PIN' },
          { verb: 'Ignored', name: 'Play', reason: 'not played inside Gather' },
        ],
      },
      {
        verb: 'Gather',
        method: 'POST',
        finishOnKey: '',
        numDigits: 1,
        timeoutSec: 5,
        input: 'dtmf',
        prompts: [],
      },
      { verb: 'Redirect', url: '/webhooks/voice?flow=f1', method: 'POST' },
      { verb: 'Hangup' },
      { verb: 'Hangup' },
      { verb: 'Ignored', name: 'Dial', reason: 'not supported by the simulator' },
      { verb: 'Ignored', name: 'Redirect', reason: 'no URL' },
    ]);
  });

  it('reads an empty body as an empty Response and refuses another root', () => {
    expect(parseCxml('  ')).toEqual([]);
    expect(parseCxml('<Response/>')).toEqual([]);
    expect(() => parseCxml('<html><body/></html>')).toThrowError(/not <Response>/);
  });

  it('falls back to defaults for nonsense attribute values', () => {
    const [verb] = parseCxml('<Response><Gather finishOnKey="x" numDigits="-3" timeout="soon"/></Response>');
    expect(verb).toMatchObject({ finishOnKey: '#', numDigits: null, timeoutSec: 5 });
  });
});

describe('resolveUrl', () => {
  it('hangs path-absolute URLs off the public URL and resolves the rest against the document', () => {
    expect(resolveUrl('/webhooks/voice?flow=a', context)).toBe(`${PUBLIC}/webhooks/voice?flow=a`);
    expect(resolveUrl('/x', { publicUrl: 'https://h.example/mfa', documentUrl: DOC })).toBe(
      'https://h.example/mfa/x',
    );
    expect(resolveUrl('gather?flow=a', context)).toBe(`${PUBLIC}/webhooks/gather?flow=a`);
    expect(resolveUrl('http://other.example/y', context)).toBe('http://other.example/y');
    expect(resolveUrl('javascript:alert(1)', context)).toBeUndefined();
    expect(resolveUrl('http://[bad', context)).toBeUndefined();
  });
});

describe('runVerbs', () => {
  it('speaks, then waits in a Gather that remembers the verbs after it', () => {
    const verbs = parseCxml(`<Response>
      <Say language="en-US">Welcome.</Say>
      <Gather action="/webhooks/voice/gather?flow=f1" numDigits="4"><Say>Enter your PIN.</Say></Gather>
      <Say>We did not hear you.</Say>
      <Redirect>/webhooks/voice?flow=f1</Redirect>
    </Response>`);
    const run = runVerbs(verbs, context);
    expect(run.transcript).toEqual([
      { who: 'engine', text: 'Welcome.', language: 'en-US' },
      { who: 'engine', text: 'Enter your PIN.' },
    ]);
    expect(run.outcome).toEqual({
      kind: 'gather',
      gather: {
        action: `${PUBLIC}/webhooks/voice/gather?flow=f1`,
        method: 'POST',
        finishOnKey: '#',
        numDigits: 4,
        timeoutSec: 5,
        input: 'dtmf',
        buffer: '',
        onSilence: [
          { verb: 'Say', text: 'We did not hear you.' },
          { verb: 'Redirect', url: '/webhooks/voice?flow=f1', method: 'POST' },
        ],
        documentUrl: DOC,
      },
    });
  });

  it('a Gather without action submits to the document URL', () => {
    const run = runVerbs(parseCxml('<Response><Gather/></Response>'), context);
    expect(run.outcome).toMatchObject({ kind: 'gather', gather: { action: DOC } });
  });

  it('stops at a Redirect (resolved) and ignores what follows', () => {
    const run = runVerbs(
      parseCxml('<Response><Say>One</Say><Redirect method="GET">/next</Redirect><Say>Never</Say></Response>'),
      context,
    );
    expect(run).toEqual({
      transcript: [{ who: 'engine', text: 'One' }],
      outcome: { kind: 'redirect', url: `${PUBLIC}/next`, method: 'GET' },
    });
  });

  it('hangs up at Hangup, ends at the end of the document, notes what it ignores', () => {
    expect(runVerbs(parseCxml('<Response><Say>Bye</Say><Hangup/><Say>x</Say></Response>'), context)).toEqual({
      transcript: [{ who: 'engine', text: 'Bye' }],
      outcome: { kind: 'hangup' },
    });
    const run = runVerbs(parseCxml('<Response><Dial>+1</Dial><Pause/></Response>'), context);
    expect(run.outcome).toEqual({ kind: 'end' });
    expect(run.transcript).toEqual([
      { who: 'carrier', text: 'ignored <Dial>: not supported by the simulator' },
    ]);
    expect(runVerbs([], context)).toEqual({ transcript: [], outcome: { kind: 'end' } });
  });

  it('skips a Redirect or Gather whose URL is not http(s)', () => {
    const run = runVerbs(
      parseCxml('<Response><Redirect>ftp://x/y</Redirect><Gather action="mailto:a@b"/><Hangup/></Response>'),
      context,
    );
    expect(run.outcome).toEqual({ kind: 'hangup' });
    expect(run.transcript.map((line) => line.who)).toEqual(['carrier', 'carrier']);
  });
});

describe('pressKey and feedKeys', () => {
  it('buffers keys and submits on the finishing key, without it', () => {
    let state = gather();
    for (const key of '1234') {
      const step = pressKey(state, key);
      expect(step.kind).toBe('wait');
      if (step.kind === 'wait') state = step.gather;
    }
    expect(state.buffer).toBe('1234');
    expect(pressKey(state, '#')).toEqual({
      kind: 'submit',
      digits: '1234',
      action: state.action,
      method: 'POST',
    });
  });

  it('submits when the buffer reaches numDigits', () => {
    const step = feedKeys(gather({ numDigits: 3, finishOnKey: '' }), '12345');
    expect(step).toEqual({
      step: { kind: 'submit', digits: '123', action: gather().action, method: 'POST' },
      consumed: '123',
      rest: '45',
    });
  });

  it("with finishOnKey '' and one digit, one key (even #) is the answer", () => {
    expect(feedKeys(gather({ numDigits: 1, finishOnKey: '' }), '#')).toMatchObject({
      step: { kind: 'submit', digits: '#' },
      rest: '',
    });
  });

  it('the finishing key alone is silence: the verbs after the Gather', () => {
    const state = gather();
    expect(pressKey(state, '#')).toEqual({ kind: 'silence', verbs: state.onSilence, documentUrl: DOC });
    expect(feedKeys(state, '#99')).toMatchObject({ step: { kind: 'silence' }, consumed: '#', rest: '99' });
  });

  it('a finishing key other than # works, and # is then an ordinary key', () => {
    expect(feedKeys(gather({ finishOnKey: '*' }), '1#2*')).toMatchObject({
      step: { kind: 'submit', digits: '1#2' },
      rest: '',
    });
  });

  it('keeps waiting with what it has when the keys run out', () => {
    expect(feedKeys(gather(), '12')).toEqual({
      step: { kind: 'wait', gather: gather({ buffer: '12' }) },
      consumed: '12',
      rest: '',
    });
  });

  it('caps the buffer', () => {
    const step = feedKeys(gather(), '1'.repeat(MAX_GATHER_BUFFER + 10));
    expect(step.step.kind === 'wait' && step.step.gather.buffer.length).toBe(MAX_GATHER_BUFFER);
  });

  it('does not change the state it is given', () => {
    const state = gather();
    feedKeys(state, '123');
    expect(state.buffer).toBe('');
  });
});

describe('gatherTimeout', () => {
  it('is silence with nothing entered, and submits a partial entry like a carrier', () => {
    expect(gatherTimeout(gather())).toMatchObject({ kind: 'silence', documentUrl: DOC });
    expect(gatherTimeout(gather({ buffer: '12' }))).toMatchObject({ kind: 'submit', digits: '12' });
  });
});
