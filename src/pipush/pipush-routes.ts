import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isFormRequest } from '../../webhooks/form-only.js';
import { useZodSchemas } from '../api/api-schemas.js';
import { asAppError } from '../api/error-handler.js';
import { PIPUSH_SERIAL } from '../devices/activations.js';
import { AppError } from '../errors.js';
import { PIPUSH_PATH, type PipushTokens } from './pipush-tokens.js';

const serial = z.string().regex(PIPUSH_SERIAL, 'a token serial (PIPU and 16 hex digits)');
const base32Signature = z.string().min(1).max(2048);
const rolloutBody = z
  .object({
    enrollment_credential: z.string().max(64),
    serial,
    fbtoken: z.string().max(4096).describe('`no_firebase_token` in poll-only mode; not used'),
    pubkey: z.string().max(4096).describe('base64 DER SubjectPublicKeyInfo of the app’s RSA key'),
    capabilities: z.string().max(4096).optional().describe('what the app supports; not used'),
  })
  .describe('rollout step 2');
const answerBody = z
  .object({
    serial,
    nonce: z.string().max(64),
    signature: base32Signature.describe(
      'base32 RSASSA-PKCS1-v1_5 SHA-256 over nonce|serial[|decline][|option]',
    ),
    decline: z.string().max(8).optional().describe('1 to decline'),
    decline_reason: z
      .string()
      .max(32)
      .optional()
      .describe('with decline: unknown_trigger (a fraud report) or cancelled; signed after |decline'),
    presence_answer: z.string().max(32).optional().describe('the option tapped'),
  })
  .describe('answer to a challenge');
const pollQuery = z.object({
  serial,
  timestamp: z.string().max(64).describe('ISO 8601 UTC, within a minute of the server clock'),
  signature: base32Signature.describe('base32 RSASSA-PKCS1-v1_5 SHA-256 over serial|timestamp'),
  capabilities: z.string().max(4096).optional(),
});
const envelope = z
  .looseObject({
    jsonrpc: z.string(),
    id: z.number(),
    result: z.looseObject({ status: z.boolean(), value: z.unknown().optional() }),
    detail: z.looseObject({}).optional(),
  })
  .meta({ id: 'PrivacyIdeaResponse' })
  .describe('privacyIDEA envelope; errors: result.status false, result.error {code: HTTP status, message}');
const responses = {
  200: envelope,
  400: envelope,
  401: envelope,
  403: envelope,
  409: envelope,
  423: envelope,
};
const tags = ['privacyIDEA Authenticator (push token protocol; see the README)'];

const ok = (value: unknown, detail?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 1,
  result: { status: true, value },
  ...(detail ? { detail } : {}),
});
const failure = (status: number, code: string, message: string) => ({
  jsonrpc: '2.0',
  id: 1,
  result: { status: false, error: { code: status, message } },
  detail: { error_code: code },
});

/**
 * The privacyIDEA Authenticator's endpoints, all under one path as the app expects: a POST is a rollout (it has
 * `enrollment_credential`) or an answer (it has `nonce`); a GET is a poll. Form bodies only; every answer, errors
 * included, is the privacyIDEA JSON envelope. Handlers are thin: `PipushTokens` does the work.
 */
export function pipushRoutes(tokens: PipushTokens): FastifyPluginAsync {
  return async (scope) => {
    useZodSchemas(scope);
    const app = scope.withTypeProvider<ZodTypeProvider>();
    scope.setErrorHandler((raw: FastifyError | AppError, request, reply) => {
      const error = asAppError(raw, request.log);
      if (error instanceof AppError) {
        if (error.statusCode >= 500) request.log.error({ err: error }, 'pipush request failed');
        return reply.code(error.statusCode).send(failure(error.statusCode, error.code, error.message));
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500)
        return reply
          .code(status)
          .send(failure(status, error.validation ? 'invalid_request' : 'bad_request', error.message));
      request.log.error({ err: error }, 'pipush request failed');
      return reply.code(500).send(failure(500, 'internal', 'Something went wrong'));
    });
    scope.addHook('onRequest', async (request, reply) => {
      if (request.method === 'POST' && !isFormRequest(request))
        return reply
          .code(415)
          .send(failure(415, 'unsupported_media_type', 'Send application/x-www-form-urlencoded'));
    });

    app.get(
      PIPUSH_PATH,
      {
        schema: {
          tags,
          summary: 'Poll: the open challenge of this token, signed by the server',
          querystring: pollQuery,
          response: responses,
        },
      },
      async (request) => ok(await tokens.poll(request.query)),
    );

    app.post(
      PIPUSH_PATH,
      {
        schema: {
          tags,
          summary: 'Rollout step 2 (enrollment_credential, ...) or an answer to a challenge (nonce, ...)',
          consumes: ['application/x-www-form-urlencoded'],
          body: z.union([rolloutBody, answerBody], {
            error:
              'either a rollout (enrollment_credential, serial, fbtoken, pubkey) or an answer (serial, nonce, signature)',
          }),
          response: responses,
        },
      },
      async (request) => {
        const body = request.body;
        if ('enrollment_credential' in body) {
          const { publicKey } = await tokens.rollout(body);
          return ok(true, { public_key: publicKey });
        }
        const result = await tokens.answer(body);
        // Accepted and judged: true for an approval or a decline (or a fraud report), false for a wrong option.
        return ok(['approved', 'denied', 'fraud'].includes(result.status), { status: result.status });
      },
    );
  };
}
