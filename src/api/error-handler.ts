import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, ERRORS, type ErrorCode, sendError } from '../errors.js';
import { isRedisUnavailableError, RedisUnavailableError } from '../redis/redis-availability.js';

/** Every error leaves as `{error: {code, message}}`; a client's mistake is never a 5xx and internals never leak. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | AppError, request, reply) => {
    const error = asAppError(raw, request.log);
    if (error instanceof AppError) {
      // An outage is logged where it is first seen (asAppError, the connection), not once per request.
      if (error.statusCode >= 500 && !(error instanceof RedisUnavailableError))
        request.log.error({ err: error }, 'request failed');
      return reply
        .code(error.statusCode)
        .send({ error: { code: error.code, message: error.message, ...error.details } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: clientCode(error), message: clientMessage(error) } });
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 'internal');
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'not_found'));
}

/** Redis out of reach is an outage to report (503 `unavailable`), not an internal error. */
export function asAppError<E>(
  error: E,
  log?: { warn(o: object, m?: string): void },
): E | RedisUnavailableError {
  if (error instanceof AppError || !isRedisUnavailableError(error)) return error;
  log?.warn({ err: error }, 'Redis unavailable: answered 503');
  return new RedisUnavailableError();
}

function clientCode(error: FastifyError): ErrorCode {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large';
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported_media_type';
  if (error.validation) return 'invalid_request';
  return 'bad_request';
}

function clientMessage(error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return ERRORS.body_too_large.message;
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return ERRORS.unsupported_media_type.message;
  if (error.code?.startsWith('FST_ERR_CTP')) return ERRORS.bad_request.message;
  return error.message;
}
