import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  DEV_PHONE_CALL_ACTIONS,
  DEV_PHONE_CALL_PATH,
  DEV_PHONE_CSS_PATH,
  DEV_PHONE_PATH,
  DEV_PHONE_REPLY_PATH,
  type DevPhonePageData,
  renderDevPhonePage,
} from '../../../web/dev-phone-page.js';
import type { Clock } from '../../clock.js';
import { type Logger, maskPhone } from '../../log.js';
import { computeSignature } from '../../security/webhook-signature.js';
import { CallControlError, type SimulatorCallCenter } from './simulator-call-routes.js';
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
import type { SimulatedMessage, SimulatorStore } from './simulator-store.js';

/** Posts a signed form to a URL; resolves to the HTTP status, 0 when nothing answered. */
export type WebhookDeliver = (
  url: string,
  params: Record<string, string>,
  signature: string,
) => Promise<number>;

export interface SimulatorRoutesOptions {
  store: SimulatorStore;
  /** Signs the webhooks (the key the engine verifies them with). */
  signingKey: string;
  /** The engine's public URL, no trailing slash: inbound texts go to `${publicUrl}/webhooks/sms`. */
  publicUrl: string;
  /** The REST API's account (Basic auth user and `:accountSid`). */
  projectId: string;
  apiToken: string;
  /** The number the dev phone texts. */
  serviceNumber: string;
  clock: Clock;
  logger: Logger;
  deliver?: WebhookDeliver;
  /** The simulated calls: when given, the dev phone shows the handset's calls and can answer them. */
  calls?: SimulatorCallCenter;
}

export const SIMULATOR_MESSAGES_PATH =
  '/dev/carrier/space/api/laml/2010-04-01/Accounts/:accountSid/Messages.json';
export const DEV_CARRIER_MESSAGES_PATH = '/dev/carrier/messages';

const MAX_BODY = 1600;

/** Destinations whose texts fail (ErrorCode 30003, unreachable handset): for tests. Shared by the process. */
export const undeliverable = new Set<string>();

export function markUndeliverable(e164: string): void {
  undeliverable.add(e164);
}

export function clearUndeliverable(e164?: string): void {
  if (e164 === undefined) undeliverable.clear();
  else undeliverable.delete(e164);
}

/** How the REST API refuses a text (as a carrier would: an outage is a 5xx, a number it never takes a 4xx). */
export interface SimulatedRefusal {
  status: number;
  code: number;
  message?: string;
  /** How many sends to refuse; absent: every one. */
  times?: number;
}

/** Destinations whose texts the REST API refuses: for tests of retries and permanent refusals. */
const refusals = new Map<string, SimulatedRefusal>();

export function refuseTexts(e164: string, refusal: SimulatedRefusal): void {
  refusals.set(e164, { ...refusal });
}

export function clearRefusals(e164?: string): void {
  if (e164 === undefined) refusals.clear();
  else refusals.delete(e164);
}

/** The refusal for this send, if one is set (and counts it down). */
function takeRefusal(e164: string): SimulatedRefusal | undefined {
  const refusal = refusals.get(e164);
  if (!refusal) return undefined;
  if (refusal.times !== undefined) {
    if (refusal.times <= 1) refusals.delete(e164);
    else refusal.times -= 1;
  }
  return refusal;
}

/**
 * The carrier simulator: a fake SignalWire space answering the Compatibility REST API for messages and sending
 * signed status callbacks, handset controls (list texts, text the service), and the browser dev phone.
 */
export function simulatorRoutes(opts: SimulatorRoutesOptions): FastifyPluginAsync {
  const { store, signingKey, publicUrl, projectId, apiToken, serviceNumber, clock, logger } = opts;
  const deliver = opts.deliver ?? defaultDeliver(logger);
  const refuse = restGuard(projectId, apiToken);

  const now = () => new Date(clock.now());
  // Status callbacks run after the 201. On close they stop, and close waits for the one in flight: a request
  // still running when the server stops would keep its keep-alive connection (and `close()`) open.
  const background = new Set<Promise<void>>();
  let closing = false;

  async function post(url: string, params: Record<string, string>): Promise<number> {
    try {
      return await deliver(url, params, computeSignature(signingKey, url, params));
    } catch (error) {
      logger.warn({ err: errorMessage(error), target: safePath(url) }, 'simulator: webhook delivery threw');
      return 0;
    }
  }

  /** After the 201: the carrier "sends" the text and reports each step to the StatusCallback. */
  async function progress(message: SimulatedMessage, statusCallback: string | undefined): Promise<void> {
    const steps: { status: string; errorCode?: string }[] = undeliverable.has(message.to)
      ? [{ status: 'failed', errorCode: '30003' }]
      : [{ status: 'sent' }, { status: 'delivered' }];
    for (const step of steps) {
      if (closing) return;
      await store.setStatus(message.sid, step.status);
      if (!statusCallback) continue;
      const params: Record<string, string> = {
        MessageSid: message.sid,
        SmsSid: message.sid,
        MessageStatus: step.status,
        SmsStatus: step.status,
        AccountSid: projectId,
        From: message.from,
        To: message.to,
        ApiVersion: API_VERSION,
        ...(step.errorCode ? { ErrorCode: step.errorCode } : {}),
      };
      const status = await post(statusCallback, params);
      if (status < 200 || status >= 300) {
        logger.warn(
          {
            sid: message.sid,
            messageStatus: step.status,
            webhookStatus: status,
            target: safePath(statusCallback),
          },
          'simulator: status callback not accepted',
        );
      }
    }
  }

  /** A handset texts `to`: store the inbound text, then deliver it to the engine as a signed webhook. */
  async function textFromHandset(
    from: string,
    to: string,
    body: string,
  ): Promise<{ sid: string; webhookStatus: number }> {
    const message = await store.add({
      from,
      to,
      body,
      status: 'received',
      direction: 'inbound',
      createdAt: now().toISOString(),
    });
    const webhookStatus = await post(`${publicUrl}/webhooks/sms`, {
      MessageSid: message.sid,
      SmsSid: message.sid,
      AccountSid: projectId,
      From: from,
      To: to,
      Body: body,
      NumMedia: '0',
      ApiVersion: API_VERSION,
    });
    if (webhookStatus < 200 || webhookStatus >= 300) {
      await store.setStatus(message.sid, 'undelivered');
      logger.warn(
        { sid: message.sid, handset: maskPhone(from), webhookStatus },
        'simulator: inbound text not accepted by the webhook',
      );
    } else {
      logger.info(
        { sid: message.sid, handset: maskPhone(from), webhookStatus },
        'simulator: inbound text delivered',
      );
    }
    return { sid: message.sid, webhookStatus };
  }

  return async (app) => {
    const css = readStylesheet();

    app.addHook('preClose', async () => {
      closing = true;
      await settleDeliveries(background);
    });

    // --- the Compatibility REST API ---------------------------------------------------------------------------
    app.post<{ Params: { accountSid: string } }>(SIMULATOR_MESSAGES_PATH, async (request, reply) => {
      const refused = refuse(request, reply);
      if (refused) return refused;
      const form = asRecord(request.body);
      const from = stringField(form, 'From');
      const to = stringField(form, 'To');
      const body = stringField(form, 'Body');
      const statusCallback = stringField(form, 'StatusCallback');
      if (!to) return twilioError(reply, 400, 21604, "A 'To' phone number is required.");
      if (!from) return twilioError(reply, 400, 21603, "A 'From' phone number is required.");
      if (!body) return twilioError(reply, 400, 21602, 'Message body is required.');
      if (!E164.test(to))
        return twilioError(reply, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      if (!E164.test(from))
        return twilioError(reply, 400, 21212, `The 'From' number ${from} is not a valid phone number.`);
      if (body.length > MAX_BODY) {
        return twilioError(
          reply,
          400,
          21617,
          'The concatenated message body exceeds the 1600 character limit.',
        );
      }
      if (statusCallback !== undefined && !isHttpUrl(statusCallback)) {
        return twilioError(reply, 400, 21609, 'The StatusCallback URL is not a valid URL.');
      }
      const refusal = takeRefusal(to);
      if (refusal) {
        return twilioError(
          reply,
          refusal.status,
          refusal.code,
          refusal.message ?? 'Refused by the simulator.',
        );
      }
      const created = now();
      const message = await store.add({
        from,
        to,
        body,
        status: 'queued',
        direction: 'outbound',
        createdAt: created.toISOString(),
      });
      logger.info({ sid: message.sid, handset: maskPhone(to) }, 'simulator: outbound text queued');
      setImmediate(() => {
        if (closing) return;
        const task = progress(message, statusCallback)
          .catch((error: unknown) =>
            logger.warn(
              { sid: message.sid, err: errorMessage(error) },
              'simulator: status progression failed',
            ),
          )
          .finally(() => background.delete(task));
        background.add(task);
      });
      const date = rfc2822(created);
      return reply.code(201).send({
        sid: message.sid,
        account_sid: projectId,
        from,
        to,
        body,
        status: 'queued',
        direction: 'outbound-api',
        date_created: date,
        date_updated: date,
        date_sent: null,
        num_segments: String(Math.max(1, Math.ceil(body.length / 153))),
        num_media: '0',
        price: null,
        price_unit: 'USD',
        error_code: null,
        error_message: null,
        api_version: API_VERSION,
        uri: `/${API_VERSION}/Accounts/${encodeURIComponent(projectId)}/Messages/${message.sid}.json`,
      });
    });

    // --- handset controls ---------------------------------------------------------------------------------------
    app.get<{ Querystring: Record<string, unknown> }>(DEV_CARRIER_MESSAGES_PATH, async (request, reply) => {
      const to = parseNumber(request.query.to);
      if (!to) return invalid(reply, "'to' must be an E.164 number (+ and 8 to 15 digits)");
      return { messages: await store.listFor(to) };
    });

    app.post(DEV_CARRIER_MESSAGES_PATH, async (request, reply) => {
      const input = asRecord(request.body);
      const from = parseNumber(input.from);
      const to = parseNumber(input.to);
      const body = input.body;
      if (!from) return invalid(reply, "'from' must be an E.164 number (+ and 8 to 15 digits)");
      if (!to) return invalid(reply, "'to' must be an E.164 number (+ and 8 to 15 digits)");
      if (typeof body !== 'string' || body.length < 1 || body.length > MAX_BODY) {
        return invalid(reply, `'body' must be a text of 1 to ${MAX_BODY} characters`);
      }
      return textFromHandset(from, to, body);
    });

    // --- the dev phone ------------------------------------------------------------------------------------------
    app.get(DEV_PHONE_CSS_PATH, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css),
    );

    app.get<{ Querystring: Record<string, unknown> }>(DEV_PHONE_PATH, async (request, reply) => {
      const autoRefresh = request.query.refresh !== 'off';
      const rawNumber = request.query.number;
      if (rawNumber === undefined || rawNumber === '')
        return page(reply, 200, { serviceNumber, autoRefresh });
      const number = parseNumber(rawNumber, { loose: true });
      if (!number) {
        return page(reply, 400, {
          serviceNumber,
          autoRefresh,
          numberInput: typeof rawNumber === 'string' ? rawNumber : '',
          error: 'Enter a phone number in E.164 form: + then 8 to 15 digits, e.g. +15551234567.',
        });
      }
      return page(reply, 200, { serviceNumber, number, autoRefresh, ...(await handsetView(number)) });
    });

    app.post(DEV_PHONE_REPLY_PATH, async (request, reply) => {
      const form = asRecord(request.body);
      const autoRefresh = form.refresh !== 'off';
      const number = parseNumber(form.number, { loose: true });
      if (!number) {
        return page(reply, 400, {
          serviceNumber,
          autoRefresh,
          error: 'Choose a phone number first.',
        });
      }
      const body = typeof form.body === 'string' ? form.body : '';
      if (body.trim().length === 0 || body.length > MAX_BODY) {
        return page(reply, 400, {
          serviceNumber,
          number,
          autoRefresh,
          replyBody: body.slice(0, MAX_BODY),
          ...(await handsetView(number)),
          error: `A reply is 1 to ${MAX_BODY} characters.`,
        });
      }
      await textFromHandset(number, serviceNumber, body);
      return reply.code(303).header('location', phoneLocation(number, autoRefresh)).send();
    });

    // The dev phone's call buttons: the same operations as the handset controls, then back to the page.
    const calls = opts.calls;
    if (calls) {
      app.post<{ Params: { sid: string; action: string } }>(
        `${DEV_PHONE_CALL_PATH}/:sid/:action`,
        async (request, reply) => {
          const { sid, action } = request.params;
          const form = asRecord(request.body);
          const autoRefresh = form.refresh !== 'off';
          const call = await calls.get(sid);
          const number = parseNumber(form.number, { loose: true }) ?? call?.to;
          const fail = async (status: number, error: string) =>
            page(reply, status, {
              serviceNumber,
              autoRefresh,
              error,
              ...(number ? { number, ...(await handsetView(number)) } : {}),
            });
          if (!(DEV_PHONE_CALL_ACTIONS as readonly string[]).includes(action))
            return fail(404, 'No such action.');
          if (!call) return fail(404, 'That call is not known (it may have expired).');
          const key = typeof form.key === 'string' ? form.key : '';
          if (action === 'keys' && !/^[0-9*#]$/.test(key)) return fail(400, 'Press one key: 0-9, * or #.');
          try {
            if (action === 'answer') await calls.answer(sid, 'human');
            else if (action === 'decline') await calls.setStatus(sid, 'busy');
            else if (action === 'keys') await calls.press(sid, key);
            else if (action === 'hangup') await calls.hangup(sid);
            else await calls.silence(sid);
          } catch (error) {
            if (error instanceof CallControlError) {
              return fail(error.statusCode, `That call cannot do this now: ${error.message}.`);
            }
            throw error;
          }
          const location = `${phoneLocation(number ?? call.to, autoRefresh)}#${encodeURIComponent(sid)}`;
          return reply.code(303).header('location', location).send();
        },
      );
    }
  };

  /** What the dev phone shows for a handset: its texts (oldest first) and, with calls, its calls (newest first). */
  async function handsetView(number: string): Promise<Pick<DevPhonePageData, 'messages' | 'calls'>> {
    const messages = (await store.listFor(number)).reverse();
    if (!opts.calls) return { messages };
    return { messages, calls: await opts.calls.list(number) };
  }
}

function phoneLocation(number: string, autoRefresh: boolean): string {
  return `${DEV_PHONE_PATH}?number=${encodeURIComponent(number)}${autoRefresh ? '' : '&refresh=off'}`;
}

function page(reply: FastifyReply, status: number, data: DevPhonePageData) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    )
    .send(renderDevPhonePage(data));
}

function defaultDeliver(logger: Logger): WebhookDeliver {
  return async (url, params, signature) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-signalwire-signature': signature,
        },
        body: new URLSearchParams(params),
        signal: AbortSignal.timeout(DELIVER_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status;
    } catch (error) {
      logger.warn({ err: errorMessage(error), target: safePath(url) }, 'simulator: webhook delivery failed');
      return 0;
    }
  };
}

/** The dev phone stylesheet, read once: next to the sources (tsx) or two levels up from `dist/src/...` (tsc). */
function readStylesheet(): string {
  const candidates = ['../../../web/dev-phone.css', '../../../../web/dev-phone.css'];
  for (const candidate of candidates) {
    try {
      return readFileSync(new URL(candidate, import.meta.url), 'utf8');
    } catch {
      // try the next layout
    }
  }
  throw new Error('simulator: web/dev-phone.css not found next to the sources');
}
