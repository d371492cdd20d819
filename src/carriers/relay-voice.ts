// SignalWire Relay (@signalwire/realtime-api v4) voice: dials out over the websocket and runs the verification
// conversation itself (promptTTS to gather keys, playTTS + hangup to finish), reporting to a VoiceSessionHandler.
//
// SDK facts this file is built on (realtime-api 4.2.1, src/voice):
// - `voice.dialPhone()` settles only when the call is answered (resolves with the Call) or the dial fails (rejects
//   with `{ tag, dialState: 'failed', reason }`, or with the RPC error when `calling.dial` itself is refused).
// - Those settle-handlers are registered on the whole Voice namespace, not per dial: concurrent dials can resolve
//   or reject with another dial's result (signalwire-legacy-js#1182). The `listen.onStateChanged` listeners given to
//   a dial are attached only to that dial's own Call (its worker filters by tag), so they are what identifies a
//   call here; the dial promise is only believed when it can be matched to a session by call id or tag.
// - `promptTTS(...)` awaited directly never settles on no_input/no_match/error (those emit 'prompt.failed');
//   `promptTTS(...).ended()` resolves on both. Same for playTTS and amd.
import { randomUUID } from 'node:crypto';
import {
  createRelayConnection,
  describeRelayError,
  noopLogger,
  type RelayLogger,
  type RelaySessionClient,
  TIMED_OUT,
  withTimeout,
} from './relay-connection.js';
import type {
  AnsweredBy,
  CallEndStatus,
  OutboundCall,
  VoiceCarrier,
  VoicePrompt,
  VoiceSessionHandler,
} from './voice-port.js';

export interface RelayVoiceOptions {
  project: string;
  token: string;
  connectTimeoutMs: number;
}

/** What `Call.promptTTS(...).ended()` resolves with (the SDK's `CallPrompt`). */
export interface RelayPromptResultLike {
  /** 'digit' | 'speech' | 'no_input' | 'no_match' | 'error' */
  readonly type?: string;
  readonly digits?: string;
  readonly terminator?: string;
}

/** The SDK's `CallDetect` as far as machine detection needs it. */
export interface RelayDetectLike {
  readonly result?: string;
  readonly detect?: { params: { event: string } };
}

export interface RelayPromptTTSParams {
  text: string;
  language?: string;
  digits: { max: number; digitTimeout?: number; terminators?: string };
  initialTimeout?: number;
}

/** The part of the SDK's voice `Call` this adapter uses. */
export interface RelayCallLike {
  readonly id?: string;
  readonly tag?: string;
  /** 'created' | 'ringing' | 'answered' | 'ending' | 'ended' */
  readonly state?: string;
  promptTTS(params: RelayPromptTTSParams): { ended(): Promise<RelayPromptResultLike> };
  playTTS(params: { text: string; language?: string }): { ended(): Promise<unknown> };
  sendDigits(digits: string): Promise<unknown>;
  hangup(): Promise<unknown>;
  amd?(params: { timeout?: number; listen?: { onUpdated?(detect: RelayDetectLike): unknown } }): {
    ended(): Promise<RelayDetectLike>;
    stop?(): Promise<unknown>;
  };
}

export interface RelayDialPhoneParams {
  from: string;
  to: string;
  /** Seconds to ring. */
  timeout: number;
  listen?: { onStateChanged?(call: RelayCallLike): unknown };
}

/** The part of the SDK's `SWClient` this adapter uses, so tests can pass a fake. */
export interface RelayVoiceClientLike extends RelaySessionClient {
  voice: { dialPhone(params: RelayDialPhoneParams): Promise<RelayCallLike> };
}

export type RelayVoiceClientFactory = (opts: {
  project: string;
  token: string;
}) => Promise<RelayVoiceClientLike>;

export type RelayVoiceCarrier = VoiceCarrier & {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): { ok: boolean; detail: string };
};

// Imported lazily so the simulator and the unit tests never load the SDK.
const sdkConnect: RelayVoiceClientFactory = async ({ project, token }) => {
  const { SignalWire } = await import('@signalwire/realtime-api');
  return SignalWire({ project, token });
};

/** Beyond the ring timeout, how long a dial may stay unsettled before it is given up as failed. */
const DIAL_GUARD_MS = 30_000;
/** After the call ends unanswered, how long to wait for the dial failure that says why (busy, no answer). */
const FAILURE_REASON_GRACE_MS = 2_000;
/** After an SDK error, how long to wait for the call's end (a remote hang-up often shows up as an error first). */
const ERROR_END_GRACE_MS = 300;
/** Answering-machine detection budget given to the SDK, plus a local guard on top. */
const AMD_TIMEOUT_SEC = 10;
const AMD_GUARD_MS = 2_000;

const ENDED = Symbol('call ended');

type DialOutcome = { answered: RelayCallLike } | { status: CallEndStatus };
/** Who ended an answered call: the far end, us (conversation over, hangup()), an error, or stop(). */
type EndCause = 'remote' | 'local' | 'error' | 'aborted';

interface Session {
  sid: string;
  flowId: string;
  call: OutboundCall;
  phase: 'dialing' | 'answered' | 'over';
  /** The SDK call, from its first state event (before the answer). */
  leg?: RelayCallLike;
  cancelRequested: boolean;
  hungUp: boolean;
  finished: boolean;
  /** Settled once: answered, or why not. First outcome wins. */
  dial: Promise<DialOutcome>;
  settleDial(outcome: DialOutcome): void;
  /** Settles when an answered call is over (remote or local hang-up), or when the adapter stops. */
  ended: Promise<typeof ENDED>;
  endCause?: EndCause;
  endCall(cause: EndCause): void;
  timers: Set<NodeJS.Timeout>;
}

/** Relay's dial failure reasons ('busy', 'noAnswer', 'decline', 'cancel', 'error', ...) in the port's terms. */
export function dialFailureStatus(reason: unknown): CallEndStatus {
  const r = String(reason ?? '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  if (r.includes('busy')) return 'busy';
  // A declined call counts as unanswered, as SignalWire's cXML reports a rejected call ('no-answer').
  if (r === 'noanswer' || r.includes('timeout') || r.startsWith('declin') || r === 'rejected')
    return 'no-answer';
  if (r.startsWith('cancel')) return 'canceled';
  return 'failed';
}

/** Logs keep no phone number whole: the last four characters identify a call well enough. */
const tail = (n: string) => (n.length > 4 ? `…${n.slice(-4)}` : '…');
/** SDK error texts may quote a number: mask any long digit run. */
const redact = (s: string) => s.replace(/\d{6,}/g, (d) => `…${d.slice(-2)}`);

function sleep(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });
}

/** A thrown handler error, told apart from SDK errors in the logs. */
class HandlerFailure extends Error {}

function machineVerdict(d: RelayDetectLike | undefined): AnsweredBy | undefined {
  const event = d?.detect?.params.event ?? d?.result;
  if (event === 'HUMAN') return 'human';
  // READY / NOT_READY only follow a MACHINE verdict (the greeting is over, or not yet).
  if (event === 'MACHINE' || event === 'READY' || event === 'NOT_READY') return 'machine';
  if (event === 'UNKNOWN') return 'unknown';
  return undefined;
}

export function createRelayVoice(
  opts: RelayVoiceOptions,
  deps: { handler: VoiceSessionHandler; connect?: RelayVoiceClientFactory; logger?: RelayLogger },
): RelayVoiceCarrier {
  const { handler } = deps;
  const log = deps.logger ?? noopLogger;
  const ms = opts.connectTimeoutMs;
  const sessions = new Map<string, Session>();
  const tasks = new Set<Promise<void>>();
  const conn = createRelayConnection<RelayVoiceClientLike>({
    kind: 'voice',
    project: opts.project,
    token: opts.token,
    connectTimeoutMs: ms,
    connect: deps.connect ?? sdkConnect,
    logger: log,
    onLost: (detail) => abortAll(detail),
  });

  function newSession(call: OutboundCall): Session {
    let resolveDial: (o: DialOutcome) => void = () => {};
    let resolveEnded: (v: typeof ENDED) => void = () => {};
    const s: Session = {
      sid: `relay-${randomUUID()}`,
      flowId: call.flowId,
      call,
      phase: 'dialing',
      cancelRequested: false,
      hungUp: false,
      finished: false,
      dial: new Promise<DialOutcome>((r) => {
        resolveDial = r;
      }),
      settleDial(outcome) {
        if (s.phase !== 'dialing') return;
        s.phase = 'answered' in outcome ? 'answered' : 'over';
        clearTimers(s);
        resolveDial(outcome);
      },
      ended: new Promise<typeof ENDED>((r) => {
        resolveEnded = r;
      }),
      endCall(cause) {
        s.endCause ??= cause;
        resolveEnded(ENDED);
      },
      timers: new Set(),
    };
    return s;
  }

  function clearTimers(s: Session) {
    for (const t of s.timers) clearTimeout(t);
    s.timers.clear();
  }

  function later(s: Session, delayMs: number, run: () => void) {
    const t = setTimeout(() => {
      s.timers.delete(t);
      run();
    }, delayMs);
    t.unref?.();
    s.timers.add(t);
  }

  const failedStatus = (s: Session, status: CallEndStatus): CallEndStatus =>
    s.cancelRequested ? 'canceled' : status;

  async function hangupLeg(s: Session, leg: RelayCallLike, why: string): Promise<void> {
    if (s.hungUp) return;
    s.hungUp = true;
    try {
      const r = await withTimeout(
        Promise.resolve().then(() => leg.hangup()),
        ms,
      );
      if (r === TIMED_OUT) log.warn({ callSid: s.sid, why, timeoutMs: ms }, 'relay voice hangup timed out');
    } catch (err) {
      log.warn({ callSid: s.sid, why, err: redact(describeRelayError(err)) }, 'relay voice hangup failed');
    }
  }

  // The dial's own Call: its state events come only to this session's listener.
  function onState(s: Session, c: RelayCallLike): void {
    s.leg ??= c;
    if (c !== s.leg) return;
    const st = c.state;
    const over = st === 'ending' || st === 'ended';
    if (s.phase === 'dialing') {
      if (st === 'answered') s.settleDial({ answered: c });
      else if (over) preAnswerEnd(s);
      else if (s.cancelRequested) void hangupLeg(s, c, 'canceled while ringing');
    } else if (s.phase === 'answered') {
      if (over) s.endCall('remote');
    } else if (st === 'answered' && !s.hungUp) {
      // Given up (guard, cancel, stop) but answered after all: nobody will talk to it.
      void hangupLeg(s, c, 'answered after the call was given up');
    }
  }

  // The call ended unanswered: the dial failure (with its reason) normally follows within milliseconds.
  function preAnswerEnd(s: Session): void {
    if (s.cancelRequested) s.settleDial({ status: 'canceled' });
    else later(s, FAILURE_REASON_GRACE_MS, () => s.settleDial({ status: 'failed' }));
  }

  // dialPhone resolved: believe it only for the session whose own listener has seen that call.
  function routeAnswered(origin: Session, c: RelayCallLike): void {
    for (const s of sessions.values()) {
      if (s.leg && (s.leg === c || (c.id !== undefined && s.leg.id === c.id))) {
        s.settleDial({ answered: c });
        return;
      }
    }
    if (origin.phase === 'dialing') {
      log.warn(
        { callSid: origin.sid },
        'relay dial answered with a call no dial has seen; waiting for its own',
      );
    }
  }

  // dialPhone rejected: a dial failure names its dial by tag; anything else is this dial's own RPC error.
  function routeFailure(origin: Session, err: unknown): void {
    const e = (err ?? {}) as { tag?: unknown; reason?: unknown };
    if (typeof e.tag !== 'string') {
      if (origin.phase === 'dialing') {
        log.warn({ callSid: origin.sid, err: redact(describeRelayError(err)) }, 'relay dial failed');
      }
      origin.settleDial({ status: failedStatus(origin, 'failed') });
      return;
    }
    const reason = typeof e.reason === 'string' ? e.reason : undefined;
    let target = [...sessions.values()].find((s) => s.leg?.tag === e.tag);
    if (!target) {
      // No dial has seen a call with that tag yet: it is the one dial still without a call, if only one is.
      const candidates = [...sessions.values()].filter((s) => s.phase === 'dialing' && !s.leg);
      if (candidates.length === 1) target = candidates[0];
    }
    if (!target) {
      log.warn({ reason }, 'relay dial failure for an unknown dial; ignored');
      return;
    }
    if (target.phase === 'dialing') log.info({ callSid: target.sid, reason }, 'relay dial failed');
    target.settleDial({ status: failedStatus(target, dialFailureStatus(reason)) });
  }

  function abort(s: Session): void {
    s.settleDial({ status: 'failed' });
    s.endCall('aborted');
  }

  function abortAll(detail: string): void {
    if (sessions.size) log.warn({ calls: sessions.size, detail }, 'relay voice calls abandoned');
    for (const s of sessions.values()) abort(s);
  }

  async function finish(s: Session, status: CallEndStatus): Promise<void> {
    if (s.finished) return;
    s.finished = true;
    s.phase = 'over';
    clearTimers(s);
    sessions.delete(s.sid);
    log.info({ callSid: s.sid, status }, 'relay voice call ended');
    try {
      await handler.onEnded(s.flowId, s.sid, status);
    } catch (err) {
      log.error({ callSid: s.sid, err: redact(describeRelayError(err)) }, 'relay voice handler failed');
    }
  }

  /** Calls the handler; a throw (sync or async) becomes a HandlerFailure. */
  function ask<T>(run: () => Promise<T>): Promise<T> {
    return Promise.resolve()
      .then(run)
      .catch((err: unknown) => {
        throw new HandlerFailure(describeRelayError(err), { cause: err });
      });
  }

  function detectMachine(s: Session, leg: RelayCallLike): Promise<AnsweredBy> {
    const amd = leg.amd;
    if (typeof amd !== 'function') return Promise.resolve('unknown');
    return new Promise<AnsweredBy>((resolve) => {
      let done = false;
      let stopWanted = false;
      let detector: ReturnType<NonNullable<RelayCallLike['amd']>> | undefined;
      const stopDetector = () => {
        detector?.stop?.().catch(() => {}); // already over: nothing to stop
      };
      const settle = (verdict: AnsweredBy, stop: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        resolve(verdict);
        if (stop) {
          stopWanted = true;
          stopDetector();
        }
      };
      const guard = setTimeout(() => settle('unknown', true), AMD_TIMEOUT_SEC * 1000 + AMD_GUARD_MS);
      guard.unref?.();
      try {
        detector = amd.call(leg, {
          timeout: AMD_TIMEOUT_SEC,
          listen: {
            onUpdated: (d) => {
              const verdict = machineVerdict(d);
              if (verdict) settle(verdict, true);
            },
          },
        });
        if (stopWanted) stopDetector(); // decided synchronously, before `detector` was known
        detector.ended().then(
          (d) => settle(machineVerdict(d) ?? 'unknown', false),
          (err: unknown) => {
            log.warn(
              { callSid: s.sid, err: redact(describeRelayError(err)) },
              'relay machine detection failed',
            );
            settle('unknown', false);
          },
        );
      } catch (err) {
        log.warn({ callSid: s.sid, err: redact(describeRelayError(err)) }, 'relay machine detection failed');
        settle('unknown', false);
      }
    });
  }

  function digitsOf(result: RelayPromptResultLike, finishOnKey: string): string | null {
    switch (result.type) {
      case 'digit': {
        const d = result.digits ?? '';
        // Relay reports the terminator apart; drop it should it ever be left on the digits.
        return finishOnKey && d.endsWith(finishOnKey) ? d.slice(0, -finishOnKey.length) : d;
      }
      case 'no_input':
      case 'no_match':
      case 'speech': // only digits were asked for
        return null;
      default:
        throw new Error(`prompt ended with ${result.type ?? 'no result'}`);
    }
  }

  function promptParams(p: VoicePrompt, gather: Extract<VoicePrompt['next'], { kind: 'gather' }>) {
    const params: RelayPromptTTSParams = {
      text: p.say.join(' '),
      language: p.language,
      digits: {
        max: gather.maxDigits,
        digitTimeout: gather.timeoutSec,
        ...(gather.finishOnKey ? { terminators: gather.finishOnKey } : {}),
      },
      initialTimeout: gather.timeoutSec,
    };
    return params;
  }

  async function converse(s: Session, leg: RelayCallLike): Promise<void> {
    const { flowId, sid } = s;
    const endedP = s.ended;
    const step = <T>(p: Promise<T> | T): Promise<T | typeof ENDED> => Promise.race([p, endedP]);
    try {
      if (s.call.sendDigits) {
        if ((await step(Promise.resolve().then(() => leg.sendDigits(s.call.sendDigits ?? '')))) === ENDED)
          return;
      }
      const answeredBy = s.call.machineDetection ? await step(detectMachine(s, leg)) : 'unknown';
      if (answeredBy === ENDED) return;
      log.info({ callSid: sid, answeredBy }, 'relay voice call answered');
      let prompt = await step(ask(() => handler.onAnswered(flowId, sid, answeredBy)));
      while (prompt !== ENDED) {
        const next = prompt.next;
        if (next.kind === 'hangup') {
          const text = prompt.say.join(' ');
          const language = prompt.language;
          if (
            text &&
            (await step(Promise.resolve().then(() => leg.playTTS({ text, language }).ended()))) === ENDED
          ) {
            return;
          }
          if (!s.endCause) {
            s.endCall('local'); // before hanging up: our hangup's own 'ended' event is not a remote end
            await hangupLeg(s, leg, 'conversation over');
          }
          return;
        }
        const params = promptParams(prompt, next);
        const result = await step(Promise.resolve().then(() => leg.promptTTS(params).ended()));
        if (result === ENDED) return;
        const digits = digitsOf(result, next.finishOnKey);
        // The keys answer this prompt: its step (when the flow numbers its prompts) goes back with them.
        const answered = prompt.step;
        prompt = await step(
          ask(() =>
            answered === undefined
              ? handler.onDigits(flowId, sid, digits)
              : handler.onDigits(flowId, sid, digits, answered),
          ),
        );
      }
    } catch (err) {
      const msg = redact(describeRelayError(err));
      if (err instanceof HandlerFailure) log.error({ callSid: sid, err: msg }, 'relay voice handler failed');
      else log.error({ callSid: sid, err: msg }, 'relay voice call failed');
      // A remote hang-up can surface as an SDK error just before the call's end: give that end a moment.
      if (!s.endCause) await Promise.race([endedP, sleep(ERROR_END_GRACE_MS, s.timers)]);
      if (!s.endCause) {
        s.endCall('error');
        await hangupLeg(s, leg, 'error');
      }
    } finally {
      await finish(s, s.endCause === 'remote' || s.endCause === 'local' ? 'completed' : 'failed');
    }
  }

  async function run(s: Session): Promise<void> {
    // A macrotask first: placeCall's caller holds the sid before any handler hears of this call.
    await new Promise((resolve) => setImmediate(resolve));
    const outcome = await s.dial;
    if ('status' in outcome) {
      // Given up (guard, unattributed failure) while it may still ring: cancel it. stop() hangs up nothing.
      const ringing = s.leg && s.leg.state !== 'ended' && s.leg.state !== 'ending';
      if (s.leg && ringing && s.endCause !== 'aborted') {
        await hangupLeg(s, s.leg, 'dial given up');
      }
      return finish(s, outcome.status);
    }
    const leg = outcome.answered;
    if (s.cancelRequested || s.endCause === 'aborted') {
      if (s.cancelRequested) await hangupLeg(s, leg, 'canceled before the answer');
      return finish(s, s.cancelRequested ? 'canceled' : 'failed');
    }
    await converse(s, leg);
  }

  function track(p: Promise<void>): void {
    const t = p.catch((err: unknown) =>
      log.error({ err: redact(describeRelayError(err)) }, 'relay voice call task failed'),
    );
    tasks.add(t);
    void t.finally(() => tasks.delete(t));
  }

  return {
    name: 'signalwire-relay',
    async start() {
      await conn.start();
    },
    readiness: () => conn.readiness(),
    async placeCall(call) {
      const client = conn.current();
      if (!client) throw new Error(`Relay voice is not connected (${conn.readiness().detail})`);
      const s = newSession(call);
      sessions.set(s.sid, s);
      log.info(
        { callSid: s.sid, to: tail(call.to), ringTimeoutSec: call.ringTimeoutSec },
        'relay voice dialing',
      );
      let dialing: Promise<RelayCallLike>;
      try {
        dialing = client.voice.dialPhone({
          from: call.from,
          to: call.to,
          timeout: call.ringTimeoutSec,
          listen: { onStateChanged: (c) => onState(s, c) },
        });
      } catch (err) {
        dialing = Promise.reject(err);
      }
      dialing.then(
        (c) => routeAnswered(s, c),
        (err: unknown) => routeFailure(s, err),
      );
      later(s, call.ringTimeoutSec * 1000 + DIAL_GUARD_MS, () => {
        log.warn({ callSid: s.sid }, 'relay dial never settled: given up');
        s.settleDial({ status: failedStatus(s, 'failed') });
      });
      track(run(s));
      return { sid: s.sid };
    },
    async hangup(sid) {
      const s = sessions.get(sid);
      if (!s || s.finished) return;
      if (s.phase === 'dialing') {
        // Before the answer: cancel the ringing leg; the outcome ('canceled') follows from its events.
        s.cancelRequested = true;
        if (s.leg) await hangupLeg(s, s.leg, 'canceled while ringing');
        return;
      }
      if (s.phase === 'answered' && !s.endCause && s.leg) {
        s.endCall('local');
        await hangupLeg(s, s.leg, 'hangup requested');
      }
    },
    async stop() {
      // Hangs up nothing: the calls in progress are abandoned (reported 'failed'), then the socket closes.
      abortAll('stopped');
      if (tasks.size) await withTimeout(Promise.allSettled([...tasks]), ms);
      await conn.stop();
    },
  };
}
