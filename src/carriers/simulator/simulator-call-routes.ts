import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Clock } from '../../clock.js';
import { type Logger, maskPhone } from '../../log.js';
import { computeSignature } from '../../security/webhook-signature.js';
import {
  appendTranscript,
  CALL_SID,
  type CallStatus,
  CxmlError,
  type CxmlVerb,
  callView,
  type FinalCallStatus,
  feedKeys,
  type GatherStep,
  gatherTimeout,
  isFinalStatus,
  newCallSid,
  parseCxml,
  runVerbs,
  type SimulatedCall,
  type SimulatedCallView,
  type SimulatorCallStore,
  STATUS_EVENTS,
  type StatusEvent,
  type WebhookMethod,
} from './simulator-calls.js';
import {
  API_VERSION,
  asRecord,
  DELIVER_TIMEOUT_MS,
  E164,
  errorMessage,
  invalid,
  isHttpUrl,
  parseNumber,
  restGuard,
  rfc2822,
  safePath,
  settleDeliveries,
  stringField,
  twilioError,
} from './simulator-http.js';

/** One webhook request of a simulated call. For GET the parameters are already in `url` and `params` is empty. */
export interface CallWebhookRequest {
  url: string;
  method: WebhookMethod;
  params: Record<string, string>;
  signature: string;
}

/** Sends a signed webhook; resolves to the HTTP status (0 when nothing answered) and the body (cXML). */
export type CallWebhookDeliver = (request: CallWebhookRequest) => Promise<{ status: number; body: string }>;

export interface SimulatorCallCenterOptions {
  callStore: SimulatorCallStore;
  /** Signs the webhooks (the key the engine verifies them with). */
  signingKey: string;
  /** The engine's public URL, no trailing slash: path-absolute cXML URLs hang off it. */
  publicUrl: string;
  /** The account (`AccountSid` in webhooks). */
  projectId: string;
  clock: Clock;
  logger: Logger;
  deliver?: CallWebhookDeliver;
}

export interface SimulatorCallRoutesOptions extends SimulatorCallCenterOptions {
  /** The REST API's Basic auth password (user = projectId). */
  apiToken: string;
  /** Not used by the call routes; accepted so one options object serves both simulator plugins. */
  serviceNumber?: string;
  /** Share one center with the dev phone (`simulatorRoutes({calls})`); created from these options when absent. */
  center?: SimulatorCallCenter;
}

export interface NewCall {
  from: string;
  to: string;
  answerUrl: string;
  answerMethod?: WebhookMethod;
  statusCallback?: string | null;
  statusCallbackMethod?: WebhookMethod;
  statusEvents?: readonly StatusEvent[];
  sendDigits?: string | null;
  machineDetection?: boolean;
  timeoutSec?: number;
}

export type CallControlErrorCode =
  | 'call_not_found'
  | 'call_not_ringing'
  | 'call_not_in_progress'
  | 'call_not_gathering';

/** A handset control that does not apply: unknown call (404) or a call in the wrong state (409). */
export class CallControlError extends Error {
  readonly statusCode: 404 | 409;
  constructor(
    readonly code: CallControlErrorCode,
    message: string,
  ) {
    super(message);
    this.statusCode = code === 'call_not_found' ? 404 : 409;
  }
}

export const SIMULATOR_CALLS_PATH = '/dev/carrier/space/api/laml/2010-04-01/Accounts/:accountSid/Calls.json';
export const SIMULATOR_CALL_PATH =
  '/dev/carrier/space/api/laml/2010-04-01/Accounts/:accountSid/Calls/:sid.json';
export const DEV_CARRIER_CALLS_PATH = '/dev/carrier/calls';

const MAX_CXML_BYTES = 64 * 1024;
const MAX_REDIRECTS = 20;
const MAX_KEYS_PER_REQUEST = 64;
const KEYS = /^[0-9*#]+$/;
const SEND_DIGITS = /^[0-9*#wW]{1,32}$/;

/**
 * The simulated network's calls: creates them, rings them, and plays the engine's cXML when the handset answers,
 * presses keys, stays silent or hangs up. Operations on one call run one after the other (a promise chain per
 * sid, in this process), so keys pressed in quick succession are handled in order. Share one instance between
 * the REST API, the handset controls and the dev phone.
 */
export class SimulatorCallCenter {
  private readonly store: SimulatorCallStore;
  private readonly deliver: CallWebhookDeliver;
  private readonly chains = new Map<string, Promise<void>>();
  /** Hangups the engine asked for over REST: a running interpretation stops at its next step. */
  private readonly endRequests = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly opts: SimulatorCallCenterOptions) {
    this.store = opts.callStore;
    this.deliver = opts.deliver ?? defaultDeliver(opts.logger);
  }

  // --- queries ----------------------------------------------------------------------------------------------------

  async get(sid: string): Promise<SimulatedCall | undefined> {
    return CALL_SID.test(sid) ? this.store.get(sid) : undefined;
  }

  /** Calls to the number, newest first. */
  async list(to: string, limit = 20): Promise<SimulatedCallView[]> {
    return (await this.store.listFor(to, limit)).map(callView);
  }

  // --- the engine's side (REST) -----------------------------------------------------------------------------------

  /** A new outbound call: stored as queued; `initiated` and `ringing` are reported after this returns. */
  async create(input: NewCall): Promise<SimulatedCall> {
    const call: SimulatedCall = {
      sid: newCallSid(),
      from: input.from,
      to: input.to,
      status: 'queued',
      answerUrl: input.answerUrl,
      answerMethod: input.answerMethod ?? 'POST',
      statusCallback: input.statusCallback ?? null,
      statusCallbackMethod: input.statusCallbackMethod ?? 'POST',
      statusEvents: [...(input.statusEvents ?? ['completed'])],
      sendDigits: input.sendDigits ?? null,
      machineDetection: input.machineDetection ?? false,
      timeoutSec: input.timeoutSec ?? 60,
      transcript: [],
      gather: null,
      sequence: 0,
      createdAt: this.now().toISOString(),
      answeredAt: null,
      endedAt: null,
      answeredBy: null,
    };
    await this.store.create(call);
    this.opts.logger.info({ sid: call.sid, handset: maskPhone(call.to) }, 'simulator: outbound call queued');
    this.inBackground(call.sid, () => this.ring(call.sid));
    return call;
  }

  /**
   * The engine ends a call (REST `Status=completed|canceled`). Runs in the background: the engine may be asking
   * from inside a webhook of this very call, which the call's chain is waiting on. Returns the call as it will
   * be, or undefined when unknown.
   */
  async requestEnd(sid: string): Promise<SimulatedCall | undefined> {
    const call = await this.get(sid);
    if (!call) return undefined;
    if (isFinalStatus(call.status)) return call;
    this.endRequests.add(sid);
    this.inBackground(sid, async () => {
      try {
        await this.serial(sid, async () => {
          const current = await this.store.get(sid);
          if (!current || isFinalStatus(current.status)) return;
          appendTranscript(current, [{ who: 'carrier', text: 'the service hung up' }]);
          await this.finish(current, current.status === 'in-progress' ? 'completed' : 'canceled');
        });
      } finally {
        this.endRequests.delete(sid);
      }
    });
    return { ...call, status: call.status === 'in-progress' ? 'completed' : 'canceled' };
  }

  // --- the handset's side -----------------------------------------------------------------------------------------

  /** The handset answers (a person, or voicemail): `answered` callback, then the answer webhook and its cXML. */
  answer(sid: string, answeredBy: 'human' | 'machine' = 'human'): Promise<SimulatedCallView> {
    return this.control(sid, async (call) => {
      if (call.status !== 'queued' && call.status !== 'ringing') throw notRinging(call);
      call.status = 'in-progress';
      call.answeredAt = this.now().toISOString();
      call.answeredBy = answeredBy;
      if (answeredBy === 'machine') appendTranscript(call, [{ who: 'carrier', text: 'voicemail answered' }]);
      await this.store.save(call);
      const answeredByParam = this.answeredByParam(call);
      if (call.statusEvents.includes('answered'))
        await this.statusCallback(call, 'in-progress', answeredByParam);
      if (call.sendDigits)
        appendTranscript(call, [{ who: 'carrier', text: `sent digits ${call.sendDigits}` }]);
      await this.store.save(call);
      await this.fetchAndPlay(call, call.answerUrl, call.answerMethod, answeredByParam);
    });
  }

  /** Before an answer: the handset is busy, does not answer, the call fails, or voicemail picks up. */
  setStatus(sid: string, status: 'busy' | 'no-answer' | 'failed' | 'machine'): Promise<SimulatedCallView> {
    if (status === 'machine') return this.answer(sid, 'machine');
    return this.control(sid, async (call) => {
      if (call.status !== 'queued' && call.status !== 'ringing') throw notRinging(call);
      appendTranscript(call, [{ who: 'carrier', text: status === 'busy' ? 'declined (busy)' : status }]);
      await this.finish(call, status);
    });
  }

  /** Keys pressed on the handset, handled one by one. */
  press(sid: string, keys: string): Promise<SimulatedCallView> {
    return this.control(sid, async (call) => {
      if (call.status !== 'in-progress') throw notInProgress(call);
      let rest = keys;
      while (rest.length > 0 && call.status === 'in-progress' && !this.stopped(call.sid)) {
        const gather = call.gather;
        if (!gather) {
          appendTranscript(call, [{ who: 'caller', text: `pressed ${rest} (nothing was listening)` }]);
          await this.store.save(call);
          return;
        }
        const fed = feedKeys(gather, rest);
        rest = fed.rest;
        appendTranscript(call, [{ who: 'caller', text: `pressed ${fed.consumed}` }]);
        await this.applyStep(call, fed.step);
      }
      if (rest.length > 0) {
        appendTranscript(call, [{ who: 'caller', text: `pressed ${rest} (nothing was listening)` }]);
        await this.store.save(call);
      }
    });
  }

  /** The caller says nothing until the Gather times out. */
  silence(sid: string): Promise<SimulatedCallView> {
    return this.control(sid, async (call) => {
      if (call.status !== 'in-progress') throw notInProgress(call);
      if (!call.gather) {
        throw new CallControlError('call_not_gathering', 'The call is not waiting for keys');
      }
      if (call.gather.buffer === '') appendTranscript(call, [{ who: 'caller', text: 'stayed silent' }]);
      await this.applyStep(call, gatherTimeout(call.gather));
    });
  }

  /** The caller hangs up. */
  hangup(sid: string): Promise<SimulatedCallView> {
    return this.control(sid, async (call) => {
      if (call.status !== 'in-progress') throw notInProgress(call);
      appendTranscript(call, [{ who: 'caller', text: 'hung up' }]);
      await this.finish(call, 'completed');
    });
  }

  /** Stops background work (status callbacks after a create, engine hangups) and waits for what is in flight. */
  async close(): Promise<void> {
    this.closing = true;
    await settleDeliveries(this.background);
  }

  // --- internals ----------------------------------------------------------------------------------------------------

  private now(): Date {
    return new Date(this.opts.clock.now());
  }

  /** Runs `task` after every earlier task of the same call. */
  private serial<T>(sid: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(sid) ?? Promise.resolve();
    const run = previous.then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(sid, settled);
    void settled.then(() => {
      if (this.chains.get(sid) === settled) this.chains.delete(sid);
    });
    return run;
  }

  /** A handset control: serialised, on a call that exists; returns the call as it is afterwards. */
  private control(sid: string, task: (call: SimulatedCall) => Promise<void>): Promise<SimulatedCallView> {
    if (!CALL_SID.test(sid)) return Promise.reject(notFound());
    return this.serial(sid, async () => {
      const call = await this.store.get(sid);
      if (!call) throw notFound();
      await task(call);
      return callView(call);
    });
  }

  private inBackground(sid: string, task: () => Promise<void>): void {
    setImmediate(() => {
      if (this.closing) return;
      const running = task()
        .catch((error: unknown) =>
          this.opts.logger.warn({ sid, err: errorMessage(error) }, 'simulator: call progression failed'),
        )
        .finally(() => this.background.delete(running));
      this.background.add(running);
    });
  }

  /** True when the call should not go on: the engine asked to hang up, or the server is closing. */
  private stopped(sid: string): boolean {
    return this.closing || this.endRequests.has(sid);
  }

  /** After a create: `initiated` (CallStatus queued), then ringing. */
  private ring(sid: string): Promise<void> {
    return this.serial(sid, async () => {
      const call = await this.store.get(sid);
      if (call?.status !== 'queued') return;
      if (call.statusEvents.includes('initiated')) await this.statusCallback(call, 'queued');
      call.status = 'ringing';
      await this.store.save(call);
      if (call.statusEvents.includes('ringing')) await this.statusCallback(call, 'ringing');
    });
  }

  private answeredByParam(call: SimulatedCall): Record<string, string> {
    if (!call.machineDetection || !call.answeredBy) return {};
    return { AnsweredBy: call.answeredBy === 'machine' ? 'machine_start' : 'human' };
  }

  private commonParams(call: SimulatedCall, callStatus: string): Record<string, string> {
    return {
      CallSid: call.sid,
      AccountSid: this.opts.projectId,
      From: call.from,
      To: call.to,
      CallStatus: callStatus,
      Direction: 'outbound-api',
      ApiVersion: API_VERSION,
    };
  }

  /** Signs and sends one webhook; never throws. */
  private async send(url: string, method: WebhookMethod, params: Record<string, string>) {
    let target = url;
    let form = params;
    if (method === 'GET') {
      target = `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
      form = {};
    }
    try {
      const signature = computeSignature(this.opts.signingKey, target, form);
      return await this.deliver({ url: target, method, params: form, signature });
    } catch (error) {
      this.opts.logger.warn(
        { err: errorMessage(error), target: safePath(url) },
        'simulator: call webhook delivery threw',
      );
      return { status: 0, body: '' };
    }
  }

  /** A status callback with the call's next SequenceNumber (saved before sending). */
  private async statusCallback(
    call: SimulatedCall,
    callStatus: string,
    extra: Record<string, string> = {},
  ): Promise<void> {
    if (!call.statusCallback) return;
    const params: Record<string, string> = {
      ...this.commonParams(call, callStatus),
      SequenceNumber: String(call.sequence),
      Timestamp: rfc2822(this.now()),
      ...extra,
    };
    call.sequence += 1;
    await this.store.save(call);
    const { status } = await this.send(call.statusCallback, call.statusCallbackMethod, params);
    if (status < 200 || status >= 300) {
      this.opts.logger.warn(
        { sid: call.sid, callStatus, webhookStatus: status, target: safePath(call.statusCallback) },
        'simulator: call status callback not accepted',
      );
    }
  }

  /** Ends the call with a final status and reports it (a carrier always reports the end). */
  private async finish(call: SimulatedCall, status: FinalCallStatus): Promise<void> {
    if (isFinalStatus(call.status)) return;
    const ended = this.now();
    call.status = status;
    call.gather = null;
    call.endedAt = ended.toISOString();
    await this.store.save(call);
    const answered = call.answeredAt ? Date.parse(call.answeredAt) : Number.NaN;
    const duration = Number.isFinite(answered)
      ? Math.max(0, Math.floor((ended.getTime() - answered) / 1000))
      : 0;
    this.opts.logger.info({ sid: call.sid, status }, 'simulator: call ended');
    await this.statusCallback(call, status, {
      CallDuration: String(duration),
      ...this.answeredByParam(call),
    });
  }

  /** What a finished gather step leads to: wait, submit the digits to the action, or play the verbs after it. */
  private async applyStep(call: SimulatedCall, step: GatherStep): Promise<void> {
    if (step.kind === 'wait') {
      call.gather = step.gather;
      await this.store.save(call);
      return;
    }
    call.gather = null;
    await this.store.save(call);
    if (step.kind === 'submit') {
      await this.fetchAndPlay(call, step.action, step.method, { Digits: step.digits });
    } else {
      await this.play(call, step.verbs, step.documentUrl);
    }
  }

  /** Fetches a cXML document for the call and plays it. */
  private async fetchAndPlay(
    call: SimulatedCall,
    url: string,
    method: WebhookMethod,
    extra: Record<string, string>,
  ): Promise<void> {
    const verbs = await this.fetchDocument(call, url, method, extra);
    if (verbs) await this.play(call, verbs, url);
  }

  /** The verbs of a webhook's answer; undefined when the call ended instead (application error, hangup). */
  private async fetchDocument(
    call: SimulatedCall,
    url: string,
    method: WebhookMethod,
    extra: Record<string, string>,
  ): Promise<CxmlVerb[] | undefined> {
    if (this.stopped(call.sid)) return undefined;
    const response = await this.send(url, method, { ...this.commonParams(call, call.status), ...extra });
    if (this.stopped(call.sid)) return undefined;
    let problem: string | undefined;
    let verbs: CxmlVerb[] = [];
    if (response.status < 200 || response.status >= 300) {
      problem =
        response.status === 0 ? 'no answer from the webhook' : `the webhook answered HTTP ${response.status}`;
    } else {
      try {
        verbs = parseCxml(response.body);
      } catch (error) {
        problem = `invalid cXML: ${error instanceof CxmlError ? error.message : errorMessage(error)}`;
      }
    }
    if (problem) {
      this.opts.logger.warn(
        { sid: call.sid, target: safePath(url), problem },
        'simulator: call application error',
      );
      appendTranscript(call, [{ who: 'carrier', text: `application error: ${problem}` }]);
      await this.finish(call, 'completed');
      return undefined;
    }
    return verbs;
  }

  /** Plays verbs, following Redirects (at most MAX_REDIRECTS in a row), until a Gather waits or the call ends. */
  private async play(call: SimulatedCall, first: CxmlVerb[], firstUrl: string): Promise<void> {
    let verbs = first;
    let documentUrl = firstUrl;
    for (let redirects = 0; ; redirects++) {
      const run = runVerbs(verbs, { publicUrl: this.opts.publicUrl, documentUrl });
      appendTranscript(call, run.transcript);
      const outcome = run.outcome;
      if (outcome.kind === 'gather') {
        call.gather = outcome.gather;
        await this.store.save(call);
        return;
      }
      if (outcome.kind === 'hangup' || outcome.kind === 'end') {
        await this.finish(call, 'completed');
        return;
      }
      if (redirects >= MAX_REDIRECTS) {
        appendTranscript(call, [{ who: 'carrier', text: `more than ${MAX_REDIRECTS} redirects in a row` }]);
        await this.finish(call, 'completed');
        return;
      }
      await this.store.save(call);
      const next = await this.fetchDocument(call, outcome.url, outcome.method, {});
      if (!next) return;
      verbs = next;
      documentUrl = outcome.url;
    }
  }
}

function notFound(): CallControlError {
  return new CallControlError('call_not_found', 'No such call');
}

function notRinging(call: SimulatedCall): CallControlError {
  return new CallControlError('call_not_ringing', `The call is ${call.status}, not ringing`);
}

function notInProgress(call: SimulatedCall): CallControlError {
  return new CallControlError('call_not_in_progress', `The call is ${call.status}, not in progress`);
}

/**
 * The simulator's calls: the Compatibility REST API (`Calls.json`, and `Calls/:sid.json` to hang up) and the
 * handset controls under `/dev/carrier/calls`.
 */
export function simulatorCallRoutes(opts: SimulatorCallRoutesOptions): FastifyPluginAsync {
  const { projectId, apiToken } = opts;
  const center = opts.center ?? new SimulatorCallCenter(opts);
  const refuse = restGuard(projectId, apiToken);
  const now = () => new Date(opts.clock.now());

  const resource = (call: SimulatedCall) => callResource(call, projectId, now());

  const controlled = async (reply: FastifyReply, action: () => Promise<SimulatedCallView>) => {
    try {
      return { call: await action() };
    } catch (error) {
      if (error instanceof CallControlError) {
        return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
      }
      throw error;
    }
  };

  return async (app) => {
    app.addHook('preClose', () => center.close());

    // --- the Compatibility REST API ---------------------------------------------------------------------------
    app.post<{ Params: { accountSid: string } }>(SIMULATOR_CALLS_PATH, async (request, reply) => {
      const refused = refuse(request, reply);
      if (refused) return refused;
      const form = asRecord(request.body);
      const to = stringField(form, 'To');
      const from = stringField(form, 'From');
      const url = stringField(form, 'Url');
      const statusCallback = stringField(form, 'StatusCallback');
      const sendDigits = stringField(form, 'SendDigits');
      const timeout = stringField(form, 'Timeout');
      if (!to) return twilioError(reply, 400, 21201, "No 'To' number is specified");
      if (!from) return twilioError(reply, 400, 21213, "No 'From' number is specified");
      if (!url) return twilioError(reply, 400, 21205, "A 'Url' is required");
      if (!E164.test(to)) return twilioError(reply, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
      if (!E164.test(from)) return twilioError(reply, 400, 21212, `Invalid 'From' Phone Number: ${from}`);
      if (!isHttpUrl(url)) return twilioError(reply, 400, 21205, 'Url is not a valid URL');
      if (statusCallback !== undefined && !isHttpUrl(statusCallback)) {
        return twilioError(reply, 400, 21609, 'The StatusCallback URL is not a valid URL.');
      }
      if (sendDigits !== undefined && !SEND_DIGITS.test(sendDigits)) {
        return twilioError(reply, 400, 21207, 'SendDigits may only contain 0-9, *, # and w (32 at most)');
      }
      let timeoutSec = 60;
      if (timeout !== undefined) {
        timeoutSec = /^\d{1,3}$/.test(timeout) ? Number.parseInt(timeout, 10) : 0;
        if (timeoutSec < 1 || timeoutSec > 600) {
          return twilioError(reply, 400, 21208, 'Timeout must be 1 to 600 seconds');
        }
      }
      const events = statusEvents(form.StatusCallbackEvent);
      const machineDetection = stringField(form, 'MachineDetection');
      const call = await center.create({
        from,
        to,
        answerUrl: url,
        answerMethod: methodField(form.Method),
        statusCallback: statusCallback ?? null,
        statusCallbackMethod: methodField(form.StatusCallbackMethod),
        statusEvents: events.length > 0 ? events : ['completed'],
        sendDigits: sendDigits ?? null,
        machineDetection: machineDetection === 'Enable' || machineDetection === 'DetectMessageEnd',
        timeoutSec,
      });
      return reply.code(201).send(resource(call));
    });

    app.get<{ Params: { accountSid: string; sid: string } }>(SIMULATOR_CALL_PATH, async (request, reply) => {
      const refused = refuse(request, reply);
      if (refused) return refused;
      const call = await center.get(request.params.sid);
      if (!call) return twilioError(reply, 404, 20404, 'The requested resource was not found');
      return resource(call);
    });

    app.post<{ Params: { accountSid: string; sid: string } }>(SIMULATOR_CALL_PATH, async (request, reply) => {
      const refused = refuse(request, reply);
      if (refused) return refused;
      const status = stringField(asRecord(request.body), 'Status');
      if (status !== 'completed' && status !== 'canceled') {
        return twilioError(
          reply,
          400,
          21218,
          "The simulator only updates a call's Status (completed or canceled)",
        );
      }
      const call = await center.requestEnd(request.params.sid);
      if (!call) return twilioError(reply, 404, 20404, 'The requested resource was not found');
      return resource(call);
    });

    // --- handset controls ---------------------------------------------------------------------------------------
    app.get<{ Querystring: Record<string, unknown> }>(DEV_CARRIER_CALLS_PATH, async (request, reply) => {
      const to = parseNumber(request.query.to);
      if (!to) return invalid(reply, "'to' must be an E.164 number (+ and 8 to 15 digits)");
      return { calls: await center.list(to) };
    });

    app.post<{ Params: { sid: string } }>(`${DEV_CARRIER_CALLS_PATH}/:sid/answer`, async (request, reply) => {
      const answeredBy = asRecord(request.body).answeredBy;
      if (answeredBy !== undefined && answeredBy !== 'human' && answeredBy !== 'machine') {
        return invalid(reply, "'answeredBy' is 'human' or 'machine'");
      }
      return controlled(reply, () => center.answer(request.params.sid, answeredBy ?? 'human'));
    });

    app.post<{ Params: { sid: string } }>(`${DEV_CARRIER_CALLS_PATH}/:sid/digits`, async (request, reply) => {
      const digits = asRecord(request.body).digits;
      if (typeof digits !== 'string' || !KEYS.test(digits) || digits.length > MAX_KEYS_PER_REQUEST) {
        return invalid(reply, `'digits' is 1 to ${MAX_KEYS_PER_REQUEST} keys among 0-9, * and #`);
      }
      return controlled(reply, () => center.press(request.params.sid, digits));
    });

    app.post<{ Params: { sid: string } }>(`${DEV_CARRIER_CALLS_PATH}/:sid/timeout`, async (request, reply) =>
      controlled(reply, () => center.silence(request.params.sid)),
    );

    app.post<{ Params: { sid: string } }>(`${DEV_CARRIER_CALLS_PATH}/:sid/hangup`, async (request, reply) =>
      controlled(reply, () => center.hangup(request.params.sid)),
    );

    app.post<{ Params: { sid: string } }>(`${DEV_CARRIER_CALLS_PATH}/:sid/status`, async (request, reply) => {
      const status = asRecord(request.body).status;
      if (status !== 'busy' && status !== 'no-answer' && status !== 'failed' && status !== 'machine') {
        return invalid(reply, "'status' is 'busy', 'no-answer', 'failed' or 'machine'");
      }
      return controlled(reply, () => center.setStatus(request.params.sid, status));
    });
  };
}

/** A Twilio-like call resource. */
function callResource(call: SimulatedCall, projectId: string, now: Date) {
  const created = rfc2822(new Date(call.createdAt));
  const answered = call.answeredAt ? new Date(call.answeredAt) : null;
  const ended = call.endedAt ? new Date(call.endedAt) : null;
  const duration =
    answered && ended ? String(Math.max(0, Math.floor((ended.getTime() - answered.getTime()) / 1000))) : null;
  const uri = `/${API_VERSION}/Accounts/${encodeURIComponent(projectId)}/Calls/${call.sid}`;
  return {
    sid: call.sid,
    account_sid: projectId,
    parent_call_sid: null,
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    status: call.status satisfies CallStatus,
    direction: 'outbound-api',
    answered_by:
      call.machineDetection && call.answeredBy
        ? call.answeredBy === 'machine'
          ? 'machine_start'
          : 'human'
        : null,
    start_time: answered ? rfc2822(answered) : null,
    end_time: ended ? rfc2822(ended) : null,
    duration: duration ?? (ended ? '0' : null),
    date_created: created,
    date_updated: rfc2822(now),
    price: null,
    price_unit: 'USD',
    caller_name: null,
    forwarded_from: null,
    phone_number_sid: null,
    api_version: API_VERSION,
    uri: `${uri}.json`,
    subresource_uris: {
      notifications: `${uri}/Notifications.json`,
      recordings: `${uri}/Recordings.json`,
    },
  };
}

/** StatusCallbackEvent values: repeated fields and/or space-separated, unknown ones dropped, no duplicates. */
function statusEvents(value: unknown): StatusEvent[] {
  const raw = Array.isArray(value) ? value : [value];
  const events = new Set<StatusEvent>();
  for (const item of raw) {
    if (typeof item !== 'string') continue;
    for (const word of item.split(/[\s,]+/)) {
      if (STATUS_EVENTS.includes(word as StatusEvent)) events.add(word as StatusEvent);
    }
  }
  return STATUS_EVENTS.filter((event) => events.has(event));
}

function methodField(value: unknown): WebhookMethod {
  return typeof value === 'string' && value.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

function defaultDeliver(logger: Logger): CallWebhookDeliver {
  return async ({ url, method, params, signature }) => {
    try {
      const response = await fetch(url, {
        method,
        headers: {
          'x-signalwire-signature': signature,
          accept: 'application/xml, text/xml',
          ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(method === 'POST' ? { body: new URLSearchParams(params) } : {}),
        signal: AbortSignal.timeout(DELIVER_TIMEOUT_MS),
      });
      const bytes = Buffer.from(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
      if (bytes.length > MAX_CXML_BYTES) {
        logger.warn({ target: safePath(url), bytes: bytes.length }, 'simulator: cXML answer too large');
        return { status: 502, body: '' };
      }
      return { status: response.status, body: bytes.toString('utf8') };
    } catch (error) {
      logger.warn(
        { err: errorMessage(error), target: safePath(url) },
        'simulator: call webhook delivery failed',
      );
      return { status: 0, body: '' };
    }
  };
}
