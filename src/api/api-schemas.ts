/**
 * The JSON API's shared shapes, declared once as zod schemas: routes validate requests and serialise responses
 * with them (fastify-type-provider-zod), and `/api/openapi.json` is generated from the same schemas. A response
 * schema is also a guard: fields it does not name (a hash, a context secret) never leave the server.
 */
import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { STATUSES } from '../../flows/effects.js';
import { LANGUAGES } from '../../flows/i18n/index.js';
import { METHODS } from '../users/user.js';

export const errorSchema = z
  .object({
    error: z
      .looseObject({
        code: z.string().describe('stable snake_case code'),
        message: z.string().describe('what a client may be told'),
      })
      .describe('extra fields (such as `retryAt`) may follow'),
  })
  .meta({ id: 'Error' });

/** The error answers every API route may give: `{error: {code, message}}` with the status. */
export const errorResponses = {
  400: errorSchema.describe('invalid input'),
  401: errorSchema.describe('no or wrong API key'),
  404: errorSchema.describe('unknown user or verification'),
  403: errorSchema.describe('refused (blocked user, foreign device)'),
  409: errorSchema.describe('state conflict'),
  413: errorSchema.describe('body too large'),
  415: errorSchema.describe('not application/json'),
  423: errorSchema.describe('user locked'),
  429: errorSchema.describe('rate limited'),
  503: errorSchema.describe('a dependency (Redis) is unavailable; retry later'),
} as const;

const isoTime = z.string().describe('ISO 8601 time');

export const userViewSchema = z
  .object({
    username: z.string(),
    displayName: z.string(),
    email: z.string(),
    phones: z.object({
      primary: z.string().optional(),
      extension: z.string().optional(),
      backup: z.string().optional(),
      mobile: z.string().optional(),
    }),
    method: z.enum(METHODS),
    language: z.enum(LANGUAGES),
    pinMustChange: z.boolean(),
    enrolledAt: z.number().optional().describe('epoch ms of the portal enrolment'),
    createdAt: isoTime,
    updatedAt: isoTime,
    hasPin: z.boolean(),
    locked: z.boolean(),
    lockedUntil: isoTime.nullable().describe('end of a timed lock; null when not locked or hard-locked'),
    hardLocked: z.boolean().describe('locked until an administrator unlocks (PATCH locked:false)'),
    failedAttempts: z.number().int().describe('consecutive failures since the last lock or success'),
    blocked: z.object({ until: isoTime, reason: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'User' });

export const verificationViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(STATUSES),
    method: z.string().describe('sms, voice, push or totp'),
    username: z.string(),
    expiresAt: isoTime,
    createdAt: isoTime,
    updatedAt: isoTime,
    reason: z.string().optional().describe('why a closed verification closed'),
    progress: z.enum(['calling', 'answered']).optional().describe('pending calls only'),
    attemptsLeft: z.number().int().optional().describe('pending texts only'),
    code: z.string().optional().describe('voice in code mode: the digits to show the user (start only)'),
    number: z
      .string()
      .optional()
      .describe('push: the number to show the user, typed into the app (start only)'),
  })
  .meta({ id: 'Verification' });

export const deviceViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    platform: z.string(),
    kind: z.string(),
    createdAt: isoTime,
    lastUsedAt: isoTime.nullable(),
    webPush: z.boolean().describe('subscribed to Web Push'),
  })
  .meta({ id: 'Device' });

/** Requests in this scope are validated and answers serialised by their zod schemas. */
export function useZodSchemas(scope: FastifyInstance): void {
  scope.setValidatorCompiler(validatorCompiler);
  scope.setSerializerCompiler(serializerCompiler);
  // One 400 message naming every problem, as `field.path: reason; ...`.
  scope.setSchemaErrorFormatter((errors, dataVar) => {
    const problems = errors.map((e) => {
      const path = (e.instancePath ?? '').split('/').filter(Boolean).join('.');
      return `${path || dataVar}: ${e.message ?? 'invalid'}`;
    });
    return new Error(problems.join('; '));
  });
}
