import { describe, expect, it } from 'vitest';
import {
  createRelayVoice,
  dialFailureStatus,
  type RelayCallLike,
  type RelayDetectLike,
  type RelayDialPhoneParams,
  type RelayPromptResultLike,
  type RelayPromptTTSParams,
  type RelayVoiceClientLike,
} from '../../src/carriers/relay-voice.js';
import type {
  AnsweredBy,
  CallEndStatus,
  OutboundCall,
  VoicePrompt,
  VoiceSessionHandler,
} from '../../src/carriers/voice-port.js';

const TOKEN = 'PT-voice-secret-token';
const OPTS = { project: 'proj-1', token: TOKEN, connectTimeoutMs: 50 };
const TO = '+15550009876';
const FROM = '+15550001111';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const never = <T>() => new Promise<T>(() => {});

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

/** Everything that happens, handler and SDK calls alike, in order. */
type Trace = string[];

/** A fake SDK Call: prompt results are scripted; a missing one never settles (the caller is thinking). */
class FakeCall implements RelayCallLike {
  state = 'created';
  readonly prompts: RelayPromptTTSParams[] = [];
  readonly plays: { text: string; language?: string }[] = [];
  readonly digitsSent: string[] = [];
  hangups = 0;
  detectStops = 0;
  promptError: unknown;
  amd?: RelayCallLike['amd'];
  listener?: (c: RelayCallLike) => unknown;

  constructor(
    readonly id: string,
    readonly tag: string,
    private readonly trace: Trace,
    readonly replies: RelayPromptResultLike[] = [],
  ) {}

  emit(state: string) {
    this.state = state;
    this.listener?.(this);
  }

  promptTTS(params: RelayPromptTTSParams) {
    this.trace.push(`${this.id}:promptTTS`);
    this.prompts.push(params);
    const reply = this.replies.shift();
    const err = this.promptError;
    return {
      ended: () =>
        err !== undefined
          ? Promise.reject(err)
          : reply
            ? Promise.resolve(reply)
            : never<RelayPromptResultLike>(),
    };
  }

  playTTS(params: { text: string; language?: string }) {
    this.trace.push(`${this.id}:playTTS`);
    this.plays.push(params);
    return { ended: async () => ({}) };
  }

  async sendDigits(digits: string) {
    this.trace.push(`${this.id}:sendDigits`);
    this.digitsSent.push(digits);
    return this;
  }

  async hangup() {
    this.trace.push(`${this.id}:hangup`);
    this.hangups++;
    // The SDK resolves once the call state reaches 'ended'.
    this.emit('ending');
    this.emit('ended');
  }

  /** Machine detection that reports `verdict` as an update, as the SDK does, and keeps running until stopped. */
  withAmd(verdict: string) {
    this.amd = (params) => {
      this.trace.push(`${this.id}:amd`);
      setImmediate(() => params.listen?.onUpdated?.({ result: verdict } satisfies RelayDetectLike));
      return {
        ended: () => never<RelayDetectLike>(),
        stop: async () => {
          this.detectStops++;
        },
      };
    };
    return this;
  }
}

/** A dial in progress, as the fake voice namespace started it. */
interface FakeDial {
  params: RelayDialPhoneParams;
  resolve(c: RelayCallLike): void;
  reject(err: unknown): void;
}

function fakeClient(over: { authStatus?: string } = {}) {
  const dials: FakeDial[] = [];
  let disconnects = 0;
  const client: RelayVoiceClientLike = {
    authStatus: over.authStatus ?? 'authorized',
    voice: {
      dialPhone(params) {
        return new Promise<RelayCallLike>((resolve, reject) => {
          dials.push({ params, resolve, reject });
        });
      },
    },
    listen: () => () => {},
    async disconnect() {
      disconnects++;
    },
  };
  return { client, dials, disconnects: () => disconnects };
}

/** The SDK's sequence for an answered dial: the leg's state events to the dial's listener, then dial.answered. */
function answer(dial: FakeDial, call: FakeCall) {
  call.listener = (c) => dial.params.listen?.onStateChanged?.(c);
  call.emit('created');
  call.emit('ringing');
  call.emit('answered');
  dial.resolve(call);
}

/** The SDK's sequence for a failed dial: the leg rings and ends, and dialPhone rejects with the dial failure. */
function fail(dial: FakeDial, call: FakeCall, reason: string) {
  call.listener = (c) => dial.params.listen?.onStateChanged?.(c);
  call.emit('created');
  call.emit('ringing');
  call.emit('ended');
  dial.reject({ nodeId: 'node-1', tag: call.tag, dialState: 'failed', reason, source: 'outbound' });
}

const gather = (say: string[], over: Partial<Extract<VoicePrompt['next'], { kind: 'gather' }>> = {}) =>
  ({
    say,
    language: 'en-US',
    next: { kind: 'gather', finishOnKey: '#', maxDigits: 8, timeoutSec: 7, ...over },
  }) satisfies VoicePrompt;
const bye = (say: string[]): VoicePrompt => ({ say, language: 'en-US', next: { kind: 'hangup' } });

type HandlerCall =
  | ['onAnswered', string, string, AnsweredBy]
  | ['onDigits', string, string, string | null, ...number[]]
  | ['onEnded', string, string, CallEndStatus];

/** A handler that answers from a script of prompts and records (into the shared trace too) what it heard. */
function scriptedHandler(trace: Trace, script: VoicePrompt[], over: Partial<VoiceSessionHandler> = {}) {
  const calls: HandlerCall[] = [];
  const next = () => {
    const p = script.shift();
    if (!p) throw new Error('script exhausted');
    return p;
  };
  const handler: VoiceSessionHandler = {
    async onAnswered(flowId, sid, by) {
      trace.push('onAnswered');
      calls.push(['onAnswered', flowId, sid, by]);
      return over.onAnswered ? over.onAnswered(flowId, sid, by) : next();
    },
    async onDigits(flowId, sid, digits, ...step) {
      trace.push('onDigits');
      calls.push(['onDigits', flowId, sid, digits, ...(step as number[])]);
      return over.onDigits ? over.onDigits(flowId, sid, digits) : next();
    },
    async onEnded(flowId, sid, status) {
      trace.push('onEnded');
      calls.push(['onEnded', flowId, sid, status]);
      if (over.onEnded) await over.onEnded(flowId, sid, status);
    },
  };
  return { handler, calls, ended: () => calls.filter((c) => c[0] === 'onEnded') };
}

function recordingLogger() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

const outbound = (over: Partial<OutboundCall> = {}): OutboundCall => ({
  flowId: 'flow-1',
  from: FROM,
  to: TO,
  ringTimeoutSec: 30,
  machineDetection: false,
  ...over,
});

async function started(script: VoicePrompt[], over: Partial<VoiceSessionHandler> = {}) {
  const trace: Trace = [];
  const fake = fakeClient();
  const rec = scriptedHandler(trace, script, over);
  const log = recordingLogger();
  const carrier = createRelayVoice(OPTS, {
    handler: rec.handler,
    connect: async () => fake.client,
    logger: log.logger,
  });
  await carrier.start();
  return { carrier, fake, rec, log, trace };
}

describe('createRelayVoice', () => {
  it('dials, answers and runs the prompt loop: PIN digits, then the hangup prompt', async () => {
    const { carrier, fake, rec, trace } = await started([
      { ...gather(['Welcome.', 'Enter your PIN, then pound.']), language: 'es-ES', step: 1 },
      { ...bye(['Thank you.', 'Goodbye.']), language: 'es-ES' },
    ]);
    expect(carrier.name).toBe('signalwire-relay');
    expect(carrier.readiness()).toEqual({ ok: true, detail: 'connected' });

    const { sid } = await carrier.placeCall(outbound());
    expect(sid).toMatch(/^relay-[0-9a-f-]{36}$/);
    expect(fake.dials).toHaveLength(1);
    const dial = fake.dials[0]!;
    const { listen, ...dialParams } = dial.params;
    expect(dialParams).toEqual({ from: FROM, to: TO, timeout: 30 });
    expect(typeof listen?.onStateChanged).toBe('function');
    expect(rec.calls).toEqual([]); // nothing before the answer

    const call = new FakeCall('call-1', 'tag-1', trace, [{ type: 'digit', digits: '1234', terminator: '#' }]);
    answer(dial, call);
    await until(() => rec.ended().length > 0, 'onEnded');

    expect(rec.calls).toEqual([
      ['onAnswered', 'flow-1', sid, 'unknown'],
      ['onDigits', 'flow-1', sid, '1234', 1],
      ['onEnded', 'flow-1', sid, 'completed'],
    ]);
    expect(call.prompts).toStrictEqual([
      {
        text: 'Welcome. Enter your PIN, then pound.',
        language: 'es-ES',
        digits: { max: 8, digitTimeout: 7, terminators: '#' },
        initialTimeout: 7,
      },
    ]);
    expect(call.plays).toEqual([{ text: 'Thank you. Goodbye.', language: 'es-ES' }]);
    expect(trace).toEqual([
      'onAnswered',
      'call-1:promptTTS',
      'onDigits',
      'call-1:playTTS',
      'call-1:hangup',
      'onEnded',
    ]);
    expect(call.hangups).toBe(1);
    await carrier.hangup(sid); // over: a no-op
    expect(call.hangups).toBe(1);
  });

  it('maps a press-# gather (no finishing key) to promptTTS without terminators', async () => {
    const { carrier, fake, rec, trace } = await started([
      gather(['Press pound to approve.'], { finishOnKey: '', maxDigits: 1, timeoutSec: 5 }),
      bye(['Approved.']),
    ]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace, [{ type: 'digit', digits: '#' }]);
    answer(fake.dials[0]!, call);
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(call.prompts).toStrictEqual([
      {
        text: 'Press pound to approve.',
        language: 'en-US',
        digits: { max: 1, digitTimeout: 5 },
        initialTimeout: 5,
      },
    ]);
    expect(rec.calls[1]).toEqual(['onDigits', 'flow-1', sid, '#']);
  });

  it('no input and no match reach onDigits as null', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?']), gather(['PIN?']), bye(['Bye.'])]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace, [{ type: 'no_input' }, { type: 'no_match' }]);
    answer(fake.dials[0]!, call);
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(rec.calls).toEqual([
      ['onAnswered', 'flow-1', sid, 'unknown'],
      ['onDigits', 'flow-1', sid, null],
      ['onDigits', 'flow-1', sid, null],
      ['onEnded', 'flow-1', sid, 'completed'],
    ]);
    expect(call.prompts).toHaveLength(2);
  });

  it.each([
    ['busy', 'busy'],
    ['noAnswer', 'no-answer'],
    ['decline', 'no-answer'],
    ['error', 'failed'],
  ] as const)('a dial failing with reason %s ends as %s, without onAnswered', async (reason, status) => {
    const { carrier, fake, rec, trace } = await started([]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace);
    fail(fake.dials[0]!, call, reason);
    await until(() => rec.ended().length > 0, 'onEnded');
    await tick();
    expect(rec.calls).toEqual([['onEnded', 'flow-1', sid, status]]);
    expect(call.hangups).toBe(0);
  });

  it('a refused calling.dial RPC (no dial event at all) ends as failed', async () => {
    const { carrier, fake, rec } = await started([]);
    const { sid } = await carrier.placeCall(outbound());
    fake.dials[0]!.reject({ code: '-32602', message: 'Invalid destination' });
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(rec.calls).toEqual([['onEnded', 'flow-1', sid, 'failed']]);
  });

  it('the failure arriving before the leg ends (either order) keeps its reason', async () => {
    const { carrier, fake, rec, trace } = await started([]);
    const { sid } = await carrier.placeCall(outbound());
    const dial = fake.dials[0]!;
    const call = new FakeCall('call-1', 'tag-1', trace);
    call.listener = (c) => dial.params.listen?.onStateChanged?.(c);
    call.emit('created');
    dial.reject({ tag: 'tag-1', dialState: 'failed', reason: 'busy' });
    await tick();
    call.emit('ended');
    await until(() => rec.ended().length > 0, 'onEnded');
    await tick();
    expect(rec.calls).toEqual([['onEnded', 'flow-1', sid, 'busy']]);
  });

  it('a remote hang-up mid-prompt ends the call as completed, once, without hanging up', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace); // no reply: the prompt is still playing
    answer(fake.dials[0]!, call);
    await until(() => call.prompts.length === 1, 'promptTTS');
    call.emit('ending');
    call.emit('ended');
    await until(() => rec.ended().length > 0, 'onEnded');
    for (let i = 0; i < 5; i++) await tick();
    expect(rec.calls).toEqual([
      ['onAnswered', 'flow-1', sid, 'unknown'],
      ['onEnded', 'flow-1', sid, 'completed'],
    ]);
    expect(call.hangups).toBe(0);
  });

  it('sends the extension digits after the answer and before the first prompt', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])], {});
    await carrier.placeCall(outbound({ sendDigits: 'ww1234' }));
    expect(fake.dials[0]!.params).not.toHaveProperty('sendDigits');
    const call = new FakeCall('call-1', 'tag-1', trace);
    answer(fake.dials[0]!, call);
    await until(() => call.prompts.length === 1, 'promptTTS');
    expect(call.digitsSent).toEqual(['ww1234']);
    expect(trace).toEqual(['call-1:sendDigits', 'onAnswered', 'call-1:promptTTS']);
    expect(rec.ended()).toEqual([]);
  });

  it('machine detection reports the SDK verdict to onAnswered and stops the detector', async () => {
    const { carrier, fake, rec, trace } = await started([bye(['Bye.'])]);
    const { sid } = await carrier.placeCall(outbound({ machineDetection: true }));
    const call = new FakeCall('call-1', 'tag-1', trace).withAmd('MACHINE');
    answer(fake.dials[0]!, call);
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(rec.calls[0]).toEqual(['onAnswered', 'flow-1', sid, 'machine']);
    expect(trace.slice(0, 2)).toEqual(['call-1:amd', 'onAnswered']);
    expect(call.detectStops).toBe(1);
  });

  it('machine detection without SDK support answers "unknown"', async () => {
    const { carrier, fake, rec, trace } = await started([bye(['Bye.'])]);
    const { sid } = await carrier.placeCall(outbound({ machineDetection: true }));
    answer(fake.dials[0]!, new FakeCall('call-1', 'tag-1', trace)); // no amd()
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(rec.calls[0]).toEqual(['onAnswered', 'flow-1', sid, 'unknown']);
  });

  it('a connect that never settles makes start() reject within the timeout and readiness not ok', async () => {
    const carrier = createRelayVoice(OPTS, { handler: scriptedHandler([], []).handler, connect: never });
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'not started' });
    const t0 = Date.now();
    await expect(carrier.start()).rejects.toThrow('Relay voice start failed: connect timed out after 50ms');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'connect timed out after 50ms' });
    await expect(carrier.placeCall(outbound())).rejects.toThrow(/not connected/);
    await carrier.stop();
  });

  it('refused credentials (authStatus unauthorized) fail the start and close the client', async () => {
    const fake = fakeClient({ authStatus: 'unauthorized' });
    const carrier = createRelayVoice(OPTS, {
      handler: scriptedHandler([], []).handler,
      connect: async () => fake.client,
    });
    await expect(carrier.start()).rejects.toThrow(/authentication failed/);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'authentication failed' });
    expect(fake.disconnects()).toBe(1);
  });

  it('placeCall before start rejects and dials nothing', async () => {
    const fake = fakeClient();
    const carrier = createRelayVoice(OPTS, {
      handler: scriptedHandler([], []).handler,
      connect: async () => fake.client,
    });
    await expect(carrier.placeCall(outbound())).rejects.toThrow('Relay voice is not connected (not started)');
    expect(fake.dials).toEqual([]);
  });

  it('a throwing handler does not crash: the call is hung up and ends as failed', async () => {
    const { carrier, fake, rec, log, trace } = await started([], {
      onAnswered: () => {
        throw new Error('flow store down');
      },
      onEnded: async () => {
        throw new Error('onEnded failed too');
      },
    });
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace);
    answer(fake.dials[0]!, call);
    await until(() => rec.ended().length > 0, 'onEnded');
    await tick();
    expect(call.hangups).toBe(1);
    expect(call.prompts).toEqual([]);
    expect(rec.calls).toEqual([
      ['onAnswered', 'flow-1', sid, 'unknown'],
      ['onEnded', 'flow-1', sid, 'failed'],
    ]);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => [l.msg, l.obj])).toEqual([
      ['relay voice handler failed', { callSid: sid, err: 'flow store down' }],
      ['relay voice handler failed', { callSid: sid, err: 'onEnded failed too' }],
    ]);
    expect(carrier.readiness().ok).toBe(true);
  });

  it('an SDK error mid-call is logged, the call hung up and ended as failed', async () => {
    const { carrier, fake, rec, log, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace);
    call.promptError = { code: '500', message: 'play_and_collect refused' };
    answer(fake.dials[0]!, call);
    await until(() => rec.ended().length > 0, 'onEnded');
    expect(call.hangups).toBe(1);
    expect(rec.ended()).toEqual([['onEnded', 'flow-1', sid, 'failed']]);
    expect(log.lines.find((l) => l.level === 'error')?.obj).toEqual({
      callSid: sid,
      err: '500 play_and_collect refused',
    });
  });

  it('hangup(sid) ends a live call as completed; unknown sids are a no-op', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace);
    answer(fake.dials[0]!, call);
    await until(() => call.prompts.length === 1, 'promptTTS');
    await carrier.hangup('relay-unknown');
    expect(call.hangups).toBe(0);
    await carrier.hangup(sid);
    await until(() => rec.ended().length > 0, 'onEnded');
    await tick();
    expect(call.hangups).toBe(1);
    expect(rec.ended()).toEqual([['onEnded', 'flow-1', sid, 'completed']]);
  });

  it('hangup(sid) while ringing cancels the leg: canceled, never answered', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const dial = fake.dials[0]!;
    const call = new FakeCall('call-1', 'tag-1', trace);
    call.listener = (c) => dial.params.listen?.onStateChanged?.(c);
    call.emit('ringing');
    await carrier.hangup(sid);
    // Relay then fails the dial (the fake's hangup already ended the leg).
    dial.reject({ tag: 'tag-1', dialState: 'failed', reason: 'cancel' });
    await until(() => rec.ended().length > 0, 'onEnded');
    await tick();
    expect(call.hangups).toBe(1);
    expect(rec.calls).toEqual([['onEnded', 'flow-1', sid, 'canceled']]);
  });

  it('concurrent dials stay apart although the SDK settles every pending dial with the first result', async () => {
    const { carrier, fake, rec, trace } = await started([
      gather(['B?']),
      bye(['B bye.']),
      gather(['A?']),
      bye(['A bye.']),
    ]);
    const a = await carrier.placeCall(outbound({ flowId: 'flow-A', to: '+15550000001' }));
    const b = await carrier.placeCall(outbound({ flowId: 'flow-B', to: '+15550000002' }));
    const [dialA, dialB] = [fake.dials[0]!, fake.dials[1]!];
    const legA = new FakeCall('leg-A', 'tag-A', trace, [{ type: 'digit', digits: '1111' }]);
    const legB = new FakeCall('leg-B', 'tag-B', trace, [{ type: 'digit', digits: '2222' }]);
    legA.listener = (c) => dialA.params.listen?.onStateChanged?.(c);
    legB.listener = (c) => dialB.params.listen?.onStateChanged?.(c);
    legA.emit('created');
    legB.emit('created');

    // B answers: its state reaches B's own listener, and (signalwire-legacy-js#1182) BOTH dial promises resolve with B.
    legB.emit('answered');
    dialA.resolve(legB);
    dialB.resolve(legB);
    await until(() => rec.ended().length === 1, 'B ended');
    expect(rec.calls).toEqual([
      ['onAnswered', 'flow-B', b.sid, 'unknown'],
      ['onDigits', 'flow-B', b.sid, '2222'],
      ['onEnded', 'flow-B', b.sid, 'completed'],
    ]);
    expect(legA.prompts).toEqual([]);

    // A is still ringing; it answers later, known only from its own state events.
    legA.emit('answered');
    await until(() => rec.ended().length === 2, 'A ended');
    expect(rec.calls.slice(3)).toEqual([
      ['onAnswered', 'flow-A', a.sid, 'unknown'],
      ['onDigits', 'flow-A', a.sid, '1111'],
      ['onEnded', 'flow-A', a.sid, 'completed'],
    ]);
    expect(legA.prompts.map((p) => p.text)).toEqual(['A?']);
    expect(legB.prompts.map((p) => p.text)).toEqual(['B?']);
  });

  it("a dial failure delivered to another dial's promise reaches the dial it names", async () => {
    const { carrier, fake, rec, trace } = await started([bye(['A bye.'])]);
    const a = await carrier.placeCall(outbound({ flowId: 'flow-A' }));
    const b = await carrier.placeCall(outbound({ flowId: 'flow-B' }));
    const [dialA, dialB] = [fake.dials[0]!, fake.dials[1]!];
    const legA = new FakeCall('leg-A', 'tag-A', trace);
    const legB = new FakeCall('leg-B', 'tag-B', trace);
    legA.listener = (c) => dialA.params.listen?.onStateChanged?.(c);
    legB.listener = (c) => dialB.params.listen?.onStateChanged?.(c);
    legA.emit('created');
    legB.emit('created');
    // B is busy: the SDK rejects every pending dial with B's failure.
    const busyB = { tag: 'tag-B', dialState: 'failed', reason: 'busy' };
    dialA.reject(busyB);
    dialB.reject(busyB);
    legB.emit('ended');
    await until(() => rec.ended().length === 1, 'B ended');
    expect(rec.calls).toEqual([['onEnded', 'flow-B', b.sid, 'busy']]);
    // A carries on and answers.
    legA.emit('answered');
    await until(() => rec.ended().length === 2, 'A ended');
    expect(rec.calls.slice(1)).toEqual([
      ['onAnswered', 'flow-A', a.sid, 'unknown'],
      ['onEnded', 'flow-A', a.sid, 'completed'],
    ]);
  });

  it('stop hangs up nothing, ends calls in progress as failed, disconnects once and is safe twice', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const call = new FakeCall('call-1', 'tag-1', trace);
    answer(fake.dials[0]!, call);
    await until(() => call.prompts.length === 1, 'promptTTS');
    await carrier.stop();
    await carrier.stop();
    expect(rec.ended()).toEqual([['onEnded', 'flow-1', sid, 'failed']]);
    expect(call.hangups).toBe(0);
    expect(fake.disconnects()).toBe(1);
    expect(carrier.readiness()).toEqual({ ok: false, detail: 'stopped' });
    await expect(carrier.placeCall(outbound())).rejects.toThrow(/not connected \(stopped\)/);
  });

  it('stop during the ring hangs up nothing either, and a late answer is not talked to', async () => {
    const { carrier, fake, rec, trace } = await started([gather(['PIN?'])]);
    const { sid } = await carrier.placeCall(outbound());
    const dial = fake.dials[0]!;
    const call = new FakeCall('call-1', 'tag-1', trace);
    call.listener = (c) => dial.params.listen?.onStateChanged?.(c);
    call.emit('ringing');
    await carrier.stop();
    expect(rec.calls).toEqual([['onEnded', 'flow-1', sid, 'failed']]);
    expect(call.hangups).toBe(0);
    dial.resolve(call);
    await tick();
    expect(rec.calls).toHaveLength(1);
    expect(call.prompts).toEqual([]);
  });

  it('never logs the token, the digits keyed or a whole phone number', async () => {
    const { carrier, fake, rec, log, trace } = await started([gather(['PIN?']), bye(['Bye.'])]);
    await carrier.placeCall(outbound());
    answer(fake.dials[0]!, new FakeCall('call-1', 'tag-1', trace, [{ type: 'digit', digits: '908172' }]));
    await until(() => rec.ended().length > 0, 'onEnded');
    await carrier.placeCall(outbound());
    fake.dials[1]!.reject({ code: '400', message: `Invalid destination ${TO}` });
    await until(() => rec.ended().length > 1, 'second onEnded');
    await carrier.stop();
    const text = JSON.stringify(log.lines);
    expect(log.lines.length).toBeGreaterThan(4);
    expect(text).toContain('9876'); // the tail identifies the call
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('908172');
    expect(text).not.toContain(TO);
    expect(text).not.toContain(TO.slice(1));
    expect(text).not.toContain(FROM.slice(1));
  });
});

describe('dialFailureStatus', () => {
  it('maps Relay reasons to port statuses', () => {
    expect(
      ['busy', 'noAnswer', 'no_answer', 'decline', 'cancel', 'error', '', undefined].map(dialFailureStatus),
    ).toEqual(['busy', 'no-answer', 'no-answer', 'no-answer', 'canceled', 'failed', 'failed', 'failed']);
  });
});
