import type { z } from 'zod';
import { badRequest } from '../errors.js';

/** Validates a request part; every problem is named in one 400 answer. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  throw badRequest('invalid_request', problems.join('; '));
}
