/**
 * Simulated calls: the call record kept in Redis, a small XML parser, and a pure cXML interpreter.
 *
 * The interpreter never does I/O. `runVerbs` walks a document's verbs until it has to stop (a Gather waits for
 * keys, a Redirect needs a fetch, a Hangup or the end of the document ends the call) and says what to do next;
 * `pressKey`/`feedKeys`/`gatherTimeout` say what a key or silence does to a waiting Gather. The routes module
 * does the fetching, signing and status callbacks around them.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../engine/keys.js';
import { listNewest } from './simulator-store.js';

// --- cXML verbs -----------------------------------------------------------------------------------------------

export type WebhookMethod = 'POST' | 'GET';

export interface SayVerb {
  verb: 'Say';
  text: string;
  language?: string;
}

export interface PauseVerb {
  verb: 'Pause';
  lengthSec: number;
}

/** A verb the simulator does not play (Play, Dial, Record...) or a malformed one: noted, then skipped. */
export interface IgnoredVerb {
  verb: 'Ignored';
  name: string;
  reason: string;
}

export interface GatherVerb {
  verb: 'Gather';
  /** As written; resolved when the Gather runs. Absent: the document's own URL (as a carrier does). */
  action?: string;
  method: WebhookMethod;
  /** One key, or '' for none. */
  finishOnKey: string;
  /** Keys that end the entry by themselves; null: no limit. */
  numDigits: number | null;
  timeoutSec: number;
  input: string;
  /** What is spoken while waiting (nested Say / Pause). */
  prompts: (SayVerb | PauseVerb | IgnoredVerb)[];
}

export interface RedirectVerb {
  verb: 'Redirect';
  url: string;
  method: WebhookMethod;
}

export interface HangupVerb {
  verb: 'Hangup';
}

export type CxmlVerb = SayVerb | PauseVerb | GatherVerb | RedirectVerb | HangupVerb | IgnoredVerb;

// --- call state -------------------------------------------------------------------------------------------------

export type CallStatus =
  | 'queued'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'failed'
  | 'canceled';

export type FinalCallStatus = 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';
export type StatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';
export const STATUS_EVENTS: readonly StatusEvent[] = ['initiated', 'ringing', 'answered', 'completed'];

const FINAL_STATUSES: ReadonlySet<string> = new Set<FinalCallStatus>([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
]);

export function isFinalStatus(status: string): status is FinalCallStatus {
  return FINAL_STATUSES.has(status);
}

export interface TranscriptEntry {
  /** engine: what the service said; caller: what the handset did; carrier: what the network did. */
  who: 'engine' | 'caller' | 'carrier';
  text: string;
  language?: string;
}

/** A Gather waiting for keys. Everything needed to go on is here, so it survives in Redis between requests. */
export interface GatherState {
  /** Absolute URL the digits go to. */
  action: string;
  method: WebhookMethod;
  finishOnKey: string;
  numDigits: number | null;
  timeoutSec: number;
  input: string;
  /** Keys pressed so far. */
  buffer: string;
  /** The verbs after the Gather: what happens on silence. */
  onSilence: CxmlVerb[];
  /** The URL of the document the Gather came from (relative URLs in `onSilence` resolve against it). */
  documentUrl: string;
}

export interface SimulatedCall {
  sid: string;
  from: string;
  to: string;
  status: CallStatus;
  answerUrl: string;
  answerMethod: WebhookMethod;
  statusCallback: string | null;
  statusCallbackMethod: WebhookMethod;
  statusEvents: StatusEvent[];
  sendDigits: string | null;
  machineDetection: boolean;
  timeoutSec: number;
  transcript: TranscriptEntry[];
  gather: GatherState | null;
  /** The next status callback's SequenceNumber. */
  sequence: number;
  /** ISO 8601 */
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  answeredBy: 'human' | 'machine' | null;
}

/** What the handset controls and the dev phone show. */
export interface SimulatedCallView {
  sid: string;
  from: string;
  to: string;
  status: CallStatus;
  transcript: TranscriptEntry[];
  gathering: boolean;
  createdAt: string;
}

export function callView(call: SimulatedCall): SimulatedCallView {
  return {
    sid: call.sid,
    from: call.from,
    to: call.to,
    status: call.status,
    transcript: call.transcript,
    gathering: call.gather !== null,
    createdAt: call.createdAt,
  };
}

/** `CA` followed by 32 random hex characters, like a carrier CallSid. */
export function newCallSid(): string {
  return `CA${randomBytes(16).toString('hex')}`;
}

export const CALL_SID = /^CA[0-9a-f]{32}$/;
export const MAX_TRANSCRIPT = 300;

/** Appends to the transcript, keeping the newest `MAX_TRANSCRIPT` entries. */
export function appendTranscript(call: SimulatedCall, entries: readonly TranscriptEntry[]): void {
  if (entries.length === 0) return;
  call.transcript.push(...entries);
  if (call.transcript.length > MAX_TRANSCRIPT)
    call.transcript.splice(0, call.transcript.length - MAX_TRANSCRIPT);
}

// --- a small XML parser -----------------------------------------------------------------------------------------

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

export class CxmlError extends Error {}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
const TAG_END = /\s*(\/?)>/y;
const CLOSE_TAG = /<\/([A-Za-z_][\w.:-]*)\s*>/y;
const ENTITY = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, entity: string) => {
    if (entity.startsWith('#')) {
      const code =
        entity[1] === 'x' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[entity] ?? whole;
  });
}

function matchAt(pattern: RegExp, text: string, index: number): RegExpExecArray | null {
  pattern.lastIndex = index;
  return pattern.exec(text);
}

/**
 * Parses one XML document into elements and text. Handles the declaration, comments, CDATA, both quote styles,
 * self-closing tags and the five named entities plus numeric ones. Refuses a DOCTYPE (no entity expansion),
 * mismatched or unclosed tags, and text or a second element outside the root.
 */
export function parseXml(text: string): XmlElement {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (message: string): never => {
    throw new CxmlError(`${message} (at character ${i})`);
  };
  const skipPast = (terminator: string, what: string) => {
    const end = text.indexOf(terminator, i);
    if (end < 0) fail(`unterminated ${what}`);
    const start = i;
    i = end + terminator.length;
    return text.slice(start, end);
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) {
      const chunk = text.slice(i, end);
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(decodeEntities(chunk));
      else if (chunk.trim() !== '') fail('text outside the root element');
      i = end;
    }
    if (lt < 0) break;
    if (text.startsWith('<?', i)) {
      skipPast('?>', 'processing instruction');
    } else if (text.startsWith('<!--', i)) {
      skipPast('-->', 'comment');
    } else if (text.startsWith('<![CDATA[', i)) {
      i += '<![CDATA['.length;
      const data = skipPast(']]>', 'CDATA section');
      const parent = stack[stack.length - 1];
      if (!parent) fail('CDATA outside the root element');
      parent?.children.push(data);
    } else if (text.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not accepted');
    } else if (text.startsWith('</', i)) {
      const close = matchAt(CLOSE_TAG, text, i);
      if (!close?.[1]) return fail('malformed closing tag');
      const open = stack.pop();
      if (!open) fail(`unexpected </${close[1]}>`);
      if (open && open.name !== close[1]) fail(`</${close[1]}> closes <${open.name}>`);
      i = close.index + close[0].length;
    } else {
      const name = matchAt(NAME, text, i + 1);
      if (!name) return fail('malformed tag');
      i = name.index + name[0].length;
      const attrs: Record<string, string> = {};
      for (;;) {
        const attribute = matchAt(ATTRIBUTE, text, i);
        if (!attribute?.[1]) break;
        if (!(attribute[1] in attrs))
          attrs[attribute[1]] = decodeEntities(attribute[2] ?? attribute[3] ?? '');
        i = attribute.index + attribute[0].length;
      }
      const tagEnd = matchAt(TAG_END, text, i);
      if (!tagEnd) return fail(`malformed <${name[0]}> tag`);
      i = tagEnd.index + tagEnd[0].length;
      const element: XmlElement = { name: name[0], attrs, children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) fail('more than one root element');
      else root = element;
      if (tagEnd[1] !== '/') stack.push(element);
    }
  }
  const unclosed = stack[stack.length - 1];
  if (unclosed) fail(`<${unclosed.name}> is not closed`);
  if (!root) return fail('no root element');
  return root;
}

/** All the text inside an element (nested markup such as SSML flattened), whitespace collapsed. */
function textOf(node: XmlNode): string {
  if (typeof node === 'string') return node;
  return node.children.map(textOf).join(' ');
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function positiveInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return fallback;
  const n = Number.parseInt(value, 10);
  return n >= 1 ? Math.min(n, max) : fallback;
}

function methodOf(value: string | undefined): WebhookMethod {
  return value?.trim().toUpperCase() === 'GET' ? 'GET' : 'POST';
}

function finishKeyOf(value: string | undefined): string {
  if (value === undefined) return '#';
  if (value === '') return '';
  const key = value.trim().charAt(0);
  return /^[0-9*#]$/.test(key) ? key : '#';
}

function sayOf(element: XmlElement): SayVerb {
  const language = element.attrs.language;
  return { verb: 'Say', text: collapse(textOf(element)), ...(language ? { language } : {}) };
}

function pauseOf(element: XmlElement): PauseVerb {
  return { verb: 'Pause', lengthSec: positiveInt(element.attrs.length, 1, 600) };
}

function verbOf(element: XmlElement): CxmlVerb {
  switch (element.name) {
    case 'Say':
      return sayOf(element);
    case 'Pause':
      return pauseOf(element);
    case 'Gather': {
      const prompts: GatherVerb['prompts'] = [];
      for (const child of element.children) {
        if (typeof child === 'string') continue;
        if (child.name === 'Say') prompts.push(sayOf(child));
        else if (child.name === 'Pause') prompts.push(pauseOf(child));
        else prompts.push({ verb: 'Ignored', name: child.name, reason: 'not played inside Gather' });
      }
      const numDigits = positiveInt(element.attrs.numDigits, 0, 1000);
      const action = element.attrs.action?.trim();
      return {
        verb: 'Gather',
        ...(action ? { action } : {}),
        method: methodOf(element.attrs.method),
        finishOnKey: finishKeyOf(element.attrs.finishOnKey),
        numDigits: numDigits > 0 ? numDigits : null,
        timeoutSec: positiveInt(element.attrs.timeout, 5, 600),
        input: element.attrs.input?.trim() || 'dtmf',
        prompts,
      };
    }
    case 'Redirect': {
      const url = collapse(textOf(element));
      if (!url) return { verb: 'Ignored', name: 'Redirect', reason: 'no URL' };
      return { verb: 'Redirect', url, method: methodOf(element.attrs.method) };
    }
    case 'Hangup':
    case 'Reject':
      return { verb: 'Hangup' };
    default:
      return { verb: 'Ignored', name: element.name, reason: 'not supported by the simulator' };
  }
}

/** A cXML document's verbs. An empty body is an empty Response; anything but `<Response>` is refused. */
export function parseCxml(text: string): CxmlVerb[] {
  if (text.trim() === '') return [];
  const root = parseXml(text);
  if (root.name !== 'Response') throw new CxmlError(`the root element is <${root.name}>, not <Response>`);
  const verbs: CxmlVerb[] = [];
  for (const child of root.children) if (typeof child !== 'string') verbs.push(verbOf(child));
  return verbs;
}

// --- the interpreter ----------------------------------------------------------------------------------------------

export interface InterpretContext {
  /** The engine's public URL, no trailing slash: path-absolute URLs ('/webhooks/...') hang off it. */
  publicUrl: string;
  /** The URL of the document being played (other relative URLs resolve against it). */
  documentUrl: string;
}

/** An absolute http(s) URL for a cXML URL, or undefined when it is not one. */
export function resolveUrl(target: string, context: InterpretContext): string | undefined {
  const value = target.trim();
  try {
    const url =
      value.startsWith('/') && !value.startsWith('//')
        ? new URL(`${context.publicUrl}${value}`)
        : new URL(value, context.documentUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export type VerbOutcome =
  | { kind: 'gather'; gather: GatherState }
  | { kind: 'redirect'; url: string; method: WebhookMethod }
  | { kind: 'hangup' }
  /** The document ran out of verbs: a carrier ends the call. */
  | { kind: 'end' };

export interface VerbRun {
  transcript: TranscriptEntry[];
  outcome: VerbOutcome;
}

function spoken(verb: SayVerb): TranscriptEntry {
  return { who: 'engine', text: verb.text, ...(verb.language ? { language: verb.language } : {}) };
}

function ignored(verb: IgnoredVerb): TranscriptEntry {
  return { who: 'carrier', text: `ignored <${verb.name}>: ${verb.reason}` };
}

/** Plays verbs until one needs the outside world (or the end): pure. */
export function runVerbs(verbs: readonly CxmlVerb[], context: InterpretContext): VerbRun {
  const transcript: TranscriptEntry[] = [];
  for (const [index, verb] of verbs.entries()) {
    switch (verb.verb) {
      case 'Say':
        if (verb.text) transcript.push(spoken(verb));
        break;
      case 'Pause':
        break;
      case 'Ignored':
        transcript.push(ignored(verb));
        break;
      case 'Hangup':
        return { transcript, outcome: { kind: 'hangup' } };
      case 'Redirect': {
        const url = resolveUrl(verb.url, context);
        if (!url) {
          transcript.push({ who: 'carrier', text: `ignored <Redirect>: not a URL: ${verb.url}` });
          break;
        }
        return { transcript, outcome: { kind: 'redirect', url, method: verb.method } };
      }
      case 'Gather': {
        const action = verb.action === undefined ? context.documentUrl : resolveUrl(verb.action, context);
        if (!action) {
          transcript.push({ who: 'carrier', text: `ignored <Gather>: action is not a URL: ${verb.action}` });
          break;
        }
        for (const prompt of verb.prompts) {
          if (prompt.verb === 'Say' && prompt.text) transcript.push(spoken(prompt));
          else if (prompt.verb === 'Ignored') transcript.push(ignored(prompt));
        }
        return {
          transcript,
          outcome: {
            kind: 'gather',
            gather: {
              action,
              method: verb.method,
              finishOnKey: verb.finishOnKey,
              numDigits: verb.numDigits,
              timeoutSec: verb.timeoutSec,
              input: verb.input,
              buffer: '',
              onSilence: verbs.slice(index + 1),
              documentUrl: context.documentUrl,
            },
          },
        };
      }
    }
  }
  return { transcript, outcome: { kind: 'end' } };
}

/** What a key (or silence) does to a waiting Gather. */
export type GatherStep =
  /** Keep waiting with this buffer. */
  | { kind: 'wait'; gather: GatherState }
  /** Send `digits` to the action. */
  | { kind: 'submit'; digits: string; action: string; method: WebhookMethod }
  /** Nothing entered: go on with the verbs after the Gather. */
  | { kind: 'silence'; verbs: CxmlVerb[]; documentUrl: string };

/** Keys a Gather keeps at most; more are dropped (a stuck key cannot grow the record without bound). */
export const MAX_GATHER_BUFFER = 128;

function submitOrSilence(gather: GatherState, digits: string): GatherStep {
  return digits.length > 0
    ? { kind: 'submit', digits, action: gather.action, method: gather.method }
    : { kind: 'silence', verbs: gather.onSilence, documentUrl: gather.documentUrl };
}

/** One key pressed while gathering. */
export function pressKey(gather: GatherState, key: string): GatherStep {
  if (gather.finishOnKey !== '' && key === gather.finishOnKey) return submitOrSilence(gather, gather.buffer);
  const buffer = gather.buffer.length < MAX_GATHER_BUFFER ? gather.buffer + key : gather.buffer;
  if (gather.numDigits !== null && buffer.length >= gather.numDigits) return submitOrSilence(gather, buffer);
  return { kind: 'wait', gather: { ...gather, buffer } };
}

/**
 * The Gather timed out. Like a carrier: keys already entered are submitted; with none, it is silence.
 */
export function gatherTimeout(gather: GatherState): GatherStep {
  return submitOrSilence(gather, gather.buffer);
}

/** Feeds keys one by one until the Gather is done: the step, the keys it consumed, and the keys left over. */
export function feedKeys(
  gather: GatherState,
  keys: string,
): { step: GatherStep; consumed: string; rest: string } {
  let current = gather;
  for (let index = 0; index < keys.length; index++) {
    const step = pressKey(current, keys.charAt(index));
    if (step.kind !== 'wait')
      return { step, consumed: keys.slice(0, index + 1), rest: keys.slice(index + 1) };
    current = step.gather;
  }
  return { step: { kind: 'wait', gather: current }, consumed: keys, rest: '' };
}

// --- the store ------------------------------------------------------------------------------------------------------

const TTL_SECONDS = 24 * 60 * 60;
const TTL_MS = TTL_SECONDS * 1000;
const MAX_PER_NUMBER = 200;
const SEQ_WIDTH = 16;

// Writes the fields only when the call still exists, so an expired hash is never re-created without a TTL.
const SAVE_IF_EXISTS = `
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('hset', KEYS[1], unpack(ARGV, 2))
  redis.call('expire', KEYS[1], ARGV[1])
  return 1
end
return 0`;

/**
 * The simulated space's calls, in Redis so every engine process shares them: a hash per call (each field JSON),
 * and a sorted set per called number (score = creation time, member `<sequence>:<sid>`). A day's TTL on both.
 */
export class SimulatorCallStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private callKey(sid: string): string {
    return `${this.keys.tag}:sim:call:${sid}`;
  }

  private numberKey(e164: string): string {
    return `${this.keys.tag}:sim:calls:${e164}`;
  }

  private seqKey(): string {
    return `${this.keys.tag}:sim:call-seq`;
  }

  async create(call: SimulatedCall): Promise<void> {
    const time = Date.parse(call.createdAt);
    const score = Number.isFinite(time) ? time : 0;
    const seq = await this.redis.incr(this.seqKey());
    const member = `${String(seq).padStart(SEQ_WIDTH, '0')}:${call.sid}`;
    const key = this.numberKey(call.to);
    const tx = this.redis.multi();
    tx.hset(this.callKey(call.sid), encodeCall(call));
    tx.expire(this.callKey(call.sid), TTL_SECONDS);
    tx.zadd(key, score, member);
    tx.zremrangebyscore(key, '-inf', `(${score - TTL_MS}`);
    tx.zremrangebyrank(key, 0, -(MAX_PER_NUMBER + 1));
    tx.expire(key, TTL_SECONDS);
    await tx.exec();
  }

  /** Writes the whole call back; false when it no longer exists. */
  async save(call: SimulatedCall): Promise<boolean> {
    const fields = Object.entries(encodeCall(call)).flat();
    const saved = await this.redis.eval(SAVE_IF_EXISTS, 1, this.callKey(call.sid), TTL_SECONDS, ...fields);
    return saved === 1;
  }

  async get(sid: string): Promise<SimulatedCall | undefined> {
    return decodeCall(await this.redis.hgetall(this.callKey(sid)));
  }

  /** Calls to the number, newest first. */
  async listFor(e164: string, limit = 20): Promise<SimulatedCall[]> {
    return listNewest(this.redis, this.numberKey(e164), limit, (sid) => this.callKey(sid), decodeCall);
  }
}

function encodeCall(call: SimulatedCall): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(call)) fields[name] = JSON.stringify(value ?? null);
  return fields;
}

function decodeCall(hash: Record<string, string> | null | undefined): SimulatedCall | undefined {
  if (!hash?.sid) return undefined;
  const field = (name: keyof SimulatedCall): unknown => {
    const raw = hash[name];
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return undefined;
    }
  };
  const text = (name: keyof SimulatedCall): string => {
    const value = field(name);
    return typeof value === 'string' ? value : '';
  };
  const nullableText = (name: keyof SimulatedCall): string | null => {
    const value = field(name);
    return typeof value === 'string' ? value : null;
  };
  const sid = text('sid');
  if (!sid) return undefined;
  const answeredBy = field('answeredBy');
  const sequence = field('sequence');
  const timeoutSec = field('timeoutSec');
  const transcript = field('transcript');
  const gather = field('gather');
  const events = field('statusEvents');
  return {
    sid,
    from: text('from'),
    to: text('to'),
    status: (text('status') || 'failed') as CallStatus,
    answerUrl: text('answerUrl'),
    answerMethod: methodOf(text('answerMethod')),
    statusCallback: nullableText('statusCallback'),
    statusCallbackMethod: methodOf(text('statusCallbackMethod')),
    statusEvents: Array.isArray(events)
      ? events.filter((event): event is StatusEvent => STATUS_EVENTS.includes(event as StatusEvent))
      : [],
    sendDigits: nullableText('sendDigits'),
    machineDetection: field('machineDetection') === true,
    timeoutSec: typeof timeoutSec === 'number' ? timeoutSec : 60,
    transcript: Array.isArray(transcript) ? (transcript as TranscriptEntry[]) : [],
    gather: gather && typeof gather === 'object' ? (gather as GatherState) : null,
    sequence: typeof sequence === 'number' ? sequence : 0,
    createdAt: text('createdAt'),
    answeredAt: nullableText('answeredAt'),
    endedAt: nullableText('endedAt'),
    answeredBy: answeredBy === 'human' || answeredBy === 'machine' ? answeredBy : null,
  };
}
