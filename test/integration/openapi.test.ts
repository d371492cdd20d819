/**
 * The OpenAPI document is generated from the routes' schemas: it must be a valid OpenAPI 3 document, every
 * operation it documents must exist on the server, and the answers must keep the `{error: {code, message}}`
 * shape the README promises.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { startTestRuntime, type TestRuntime } from '../support/test-runtime.js';

let redis: RedisServerHandle;
let t: TestRuntime;
let doc: OpenAPIV3.Document;

beforeAll(async () => {
  redis = await startRedisServer({ appendOnly: false });
  t = await startTestRuntime(redis.url);
  const response = await fetch(`${t.baseUrl}/api/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await response.json()) as OpenAPIV3.Document;
});
afterAll(async () => {
  await t?.stop();
  await redis?.stop();
});

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

function operations(): { method: (typeof METHODS)[number]; path: string; op: OpenAPIV3.OperationObject }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item?.[m]).map((method) => ({ method, path, op: item![method]! })),
  );
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('documents the users, verifications, devices and device API, with the bearer key, and nothing else', () => {
    const documented = operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(documented.sort()).toEqual(
      [
        'GET /api/v1/users',
        'POST /api/v1/users',
        'GET /api/v1/users/{username}',
        'PATCH /api/v1/users/{username}',
        'DELETE /api/v1/users/{username}',
        'POST /api/v1/verifications',
        'GET /api/v1/verifications/{id}',
        'POST /api/v1/verifications/{id}/check',
        'POST /api/v1/verifications/{id}/resend',
        'POST /api/v1/verifications/{id}/cancel',
        'POST /api/v1/users/{username}/activations',
        'GET /api/v1/users/{username}/devices',
        'DELETE /api/v1/users/{username}/devices/{deviceId}',
        'POST /api/v1/users/{username}/totp',
        'POST /api/v1/users/{username}/totp/confirm',
        'POST /device/v1/activations/{id}',
        'GET /device/v1/device',
        'DELETE /device/v1/device',
        'GET /device/v1/challenges',
        'POST /device/v1/challenges/{id}/answer',
        'PUT /device/v1/push-subscription',
        'DELETE /device/v1/push-subscription',
        'GET /ttype/push',
        'POST /ttype/push',
        'GET /healthz',
        'GET /readyz',
      ].sort(),
    );
    for (const { path, op } of operations()) {
      if (path.startsWith('/api/v1')) expect(op.security).toEqual([{ bearer: [] }]);
    }
    expect(JSON.stringify(doc)).not.toMatch(/pinHash|webhooks|\/dev\//);
  });

  it('every documented operation exists on the server', async () => {
    const app = await t.runtime.app();
    for (const { method, path } of operations()) {
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      expect(app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path}`).toBe(true);
      // And a real request reaches it (not the catch-all 404 of an unknown route).
      const concrete = path.replace(/\{(\w+)\}/g, 'nobody');
      const answer = await app.inject({
        method: method.toUpperCase() as 'GET',
        url: concrete,
        headers: { authorization: 'Bearer test-api-key-0123456789' },
      });
      if (answer.statusCode === 404)
        expect(answer.json().error.code, `${method} ${path}`).not.toBe('not_found');
    }
  });

  it('declares the answers: the user view never has a PIN, errors are {error: {code, message}}', async () => {
    const resolved = (await SwaggerParser.dereference(structuredClone(doc) as never)) as OpenAPIV3.Document;
    const read = resolved.paths['/api/v1/users/{username}']!.get!;
    const ok = (read.responses['200'] as OpenAPIV3.ResponseObject).content!['application/json']!.schema;
    expect(JSON.stringify(ok)).toContain('hasPin');
    expect(JSON.stringify(ok)).not.toMatch(/"pin"|pinHash/i);
    const error = (read.responses['404'] as OpenAPIV3.ResponseObject).content!['application/json']!.schema;
    expect(JSON.stringify(error)).toMatch(/"code"[\s\S]*"message"/);
  });

  it('validation answers keep the error shape and name every problem', async () => {
    const bad = await t.api('/api/v1/users', { body: { username: '', method: 'fax', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect(bad.body.error.message).toMatch(/username: /);
    expect(bad.body.error.message).toMatch(/method: /);
    expect((await t.api('/api/v1/users?limit=0')).body.error).toMatchObject({ code: 'invalid_request' });
    expect((await t.api('/api/v1/verifications/x?wait=nope')).body.error.message).toMatch(/^wait: /);
  });
});
