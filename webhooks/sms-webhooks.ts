import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../src/log.js';
import type { SmsInbound } from '../src/verification/sms-inbound.js';
import { badWebhookForm, formBodiesOnly } from './form-only.js';
import { signatureGuard } from './signature-guard.js';

const EMPTY_CXML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
const field = z.string().max(2000);
const inboundSchema = z.object({
  MessageSid: z.string().min(1).max(64),
  From: field,
  To: field,
  Body: z.string().max(1600),
});
const statusSchema = z.object({
  MessageSid: z.string().min(1).max(64),
  MessageStatus: z.string().min(1).max(32),
  ErrorCode: z.string().max(16).optional(),
});

/**
 * Inbound texts and delivery callbacks: verify the signature, parse the form post, hand it to the flows. Answers
 * to the sender go through the flow's outbox, so the cXML reply is always empty and a retry gets the same one.
 */
export function smsWebhooks(options: {
  signingKey: string;
  publicUrl: string;
  inbound: SmsInbound;
  logger: Logger;
}): FastifyPluginAsync {
  return async (app) => {
    const preHandler = signatureGuard(options);
    app.addHook('onRequest', formBodiesOnly);
    app.post('/webhooks/sms', { preHandler }, async (request, reply) => {
      const parsed = inboundSchema.safeParse(request.body);
      if (!parsed.success) return badWebhookForm(reply);
      await options.inbound.onInbound({
        messageSid: parsed.data.MessageSid,
        from: parsed.data.From,
        to: parsed.data.To,
        body: parsed.data.Body,
      });
      return reply.type('text/xml').send(EMPTY_CXML);
    });
    app.post('/webhooks/sms/status', { preHandler }, async (request, reply) => {
      const parsed = statusSchema.safeParse(request.body);
      if (!parsed.success) return badWebhookForm(reply);
      await options.inbound.onStatus({
        messageSid: parsed.data.MessageSid,
        status: parsed.data.MessageStatus,
        ...(parsed.data.ErrorCode ? { errorCode: parsed.data.ErrorCode } : {}),
      });
      return reply.code(204).send();
    });
  };
}
