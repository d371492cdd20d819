import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AnsweredBy, CallEndStatus, VoicePrompt } from '../src/carriers/voice-port.js';
import type { Logger } from '../src/log.js';
import type { VoiceCalls } from '../src/verification/voice-calls.js';
import { HANGUP_CXML, renderPrompt } from './cxml.js';
import { badWebhookForm, formBodiesOnly } from './form-only.js';
import { signatureGuard } from './signature-guard.js';

const sid = z.string().min(1).max(64);
const flowQuery = z.object({ flow: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });
const gatherQuery = flowQuery.extend({
  step: z.coerce.number().int().min(0).max(10_000).optional(),
  noinput: z.literal('1').optional(),
});
const answerForm = z.object({ CallSid: sid, AnsweredBy: z.string().max(32).optional() });
const gatherForm = z.object({ CallSid: sid, Digits: z.string().max(128).optional() });
const statusForm = z.object({ CallSid: sid, CallStatus: z.string().min(1).max(32) });

const ENDINGS = new Set<CallEndStatus>(['busy', 'no-answer', 'failed', 'canceled', 'completed']);

/**
 * cXML voice webhooks: answer, gathered keys, call status. Each verifies the signature, turns the form post into
 * a call event for the flow, and answers with the cXML of the flow's new state.
 */
export function voiceWebhooks(options: {
  signingKey: string;
  publicUrl: string;
  calls: VoiceCalls;
  logger: Logger;
}): FastifyPluginAsync {
  const { calls, publicUrl } = options;
  const gatherUrl = (flowId: string, step: number) =>
    `${publicUrl}/webhooks/voice/gather?flow=${encodeURIComponent(flowId)}&step=${step}`;

  return async (app) => {
    const preHandler = signatureGuard(options);
    app.addHook('onRequest', formBodiesOnly);

    app.post('/webhooks/voice', { preHandler }, async (request, reply) => {
      const query = flowQuery.safeParse(request.query);
      const form = answerForm.safeParse(request.body);
      if (!query.success || !form.success) return badWebhookForm(reply);
      const flowId = query.data.flow;
      const prompt = await orHangup(() =>
        calls.onAnswered(flowId, form.data.CallSid, answeredBy(form.data.AnsweredBy)),
      );
      return sendCxml(reply, prompt, flowId);
    });

    app.post('/webhooks/voice/gather', { preHandler }, async (request, reply) => {
      const query = gatherQuery.safeParse(request.query);
      const form = gatherForm.safeParse(request.body);
      if (!query.success || !form.success) return badWebhookForm(reply);
      const { flow: flowId, step, noinput } = query.data;
      const digits = noinput ? null : (form.data.Digits ?? '');
      const prompt = await orHangup(() => calls.onDigits(flowId, form.data.CallSid, digits, step));
      return sendCxml(reply, prompt, flowId);
    });

    app.post('/webhooks/voice/status', { preHandler }, async (request, reply) => {
      const query = flowQuery.safeParse(request.query);
      const form = statusForm.safeParse(request.body);
      if (!query.success || !form.success) return badWebhookForm(reply);
      const status = form.data.CallStatus as CallEndStatus;
      // queued, ringing and in-progress only report progress; the answer webhook drives the flow.
      if (ENDINGS.has(status)) {
        await calls.onEnded(query.data.flow, form.data.CallSid, status).catch((err: { code?: string }) => {
          if (err.code !== 'flow_not_found') throw err;
        });
      }
      return reply.code(204).send();
    });
  };

  function sendCxml(reply: FastifyReply, prompt: VoicePrompt | null, flowId: string) {
    reply.type('text/xml');
    if (!prompt) return reply.send(HANGUP_CXML);
    return reply.send(renderPrompt(prompt, gatherUrl(flowId, prompt.step ?? 0)));
  }
}

/** A call for a flow that does not exist (aged out, forged id) is hung up politely. */
async function orHangup<T>(work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (err) {
    if ((err as { code?: string }).code === 'flow_not_found') return null;
    throw err;
  }
}

function answeredBy(value: string | undefined): AnsweredBy {
  if (!value) return 'unknown';
  if (value === 'human') return 'human';
  return value.startsWith('machine') || value === 'fax' ? 'machine' : 'unknown';
}
