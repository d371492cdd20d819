import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LANGUAGES } from '../../flows/i18n/index.js';
import { type PinPolicy, type PinProblem, pinProblem, pinProblemMessage } from '../../flows/pin-policy.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { PhonePolicy } from '../phone/phone-number.js';
import type { SecretHasher } from '../security/pin-hash.js';
import type { SecretGuard } from '../security/secret-guard.js';
import type { UserStore } from '../store/user-store.js';
import { METHODS, phoneNumbersOf, publicUser, type User } from '../users/user.js';
import type { UserDeletion } from '../users/user-deletion.js';
import { type AdminChanges, settingChanges } from './admin-changes.js';
import { errorResponses, userViewSchema } from './api-schemas.js';
import { normalizePhones, type PhoneFields, phonesSchema } from './phone-fields.js';

const username = z
  .string()
  .transform((s) => s.normalize('NFKC').trim())
  .pipe(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\p{Cc}\p{Cf}/]+$/u, 'must not contain control characters or slashes'),
  );
// What a PIN must be is the PIN policy's to say (checked in the routes, with the configured lengths).
const pin = z.string().max(64);
const editable = {
  displayName: z.string().trim().max(200).optional(),
  email: z.union([z.email().max(254), z.literal('')]).optional(),
  phones: phonesSchema.optional(),
  method: z.enum(METHODS).optional(),
  language: z.enum(LANGUAGES).optional(),
  pin: pin.nullable().optional(),
  pinMustChange: z.boolean().optional(),
};
const createSchema = z.strictObject({ username, ...editable });
// `locked: false` is an administrator's unlock (timed or hard lock, and the escalation); nothing else is accepted.
const patchSchema = z.strictObject({ ...editable, locked: z.literal(false).optional() });
const listQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const params = z.object({ username });
const usersPage = z.object({ users: z.array(z.string()), offset: z.number().int() }).meta({ id: 'UserList' });
const tags = ['users'];

/** Admin CRUD for users. PINs go in, never out: responses say only whether a PIN is set. */
export function usersRoutes(deps: {
  users: UserStore;
  guard: SecretGuard;
  hasher: SecretHasher;
  clock: Clock;
  /** Audits and mails the changes a PATCH makes to phones, PIN or method. */
  adminChanges: AdminChanges;
  /** DELETE: the user with her devices, TOTP secret and sessions. */
  deletion: Pick<UserDeletion, 'delete'>;
  phonePolicy: PhonePolicy;
  pinPolicy: PinPolicy;
  defaults: { language: User['language'] };
}): FastifyPluginAsync {
  const { users, clock } = deps;
  const view = async (user: User) => publicUser(user, await users.standing(user.username), clock.now());
  const pinText = (problem: PinProblem) => pinProblemMessage('en', problem, deps.pinPolicy);
  // The policy's own rules join the other field problems in one 400; the phone digits are checked after parsing.
  const policyPin = pin.superRefine((value, ctx) => {
    const problem = pinProblem(value, deps.pinPolicy);
    if (problem) ctx.addIssue({ code: 'custom', message: pinText(problem) });
  });
  const create = createSchema.extend({ pin: policyPin.nullable().optional() });
  const patch = patchSchema.extend({ pin: policyPin.nullable().optional() });
  const assertPinAllowed = (value: string | null | undefined, phones: User['phones']) => {
    const problem = value ? pinProblem(value, deps.pinPolicy, phoneNumbersOf({ phones })) : null;
    if (problem) throw new AppError('invalid_request', `pin: ${pinText(problem)}`);
  };

  return async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/api/v1/users',
      {
        schema: {
          tags,
          summary: 'Create a user',
          body: create,
          response: { 201: userViewSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const now = clock.now();
        const phones = normalizePhones(body.phones ?? {}, deps.phonePolicy);
        assertPinAllowed(body.pin, phones);
        const user: User = {
          username: body.username,
          displayName: body.displayName ?? body.username,
          email: body.email ?? '',
          phones,
          method: body.method ?? 'sms',
          language: body.language ?? deps.defaults.language,
          pinHash: body.pin ? await deps.hasher.hash(body.pin) : null,
          // A PIN an administrator chose is known to someone else: the user changes it at first use.
          pinMustChange: body.pin ? (body.pinMustChange ?? true) : false,
          createdAt: now,
          updatedAt: now,
        };
        if (!(await users.create(user))) throw new AppError('user_exists');
        return reply.code(201).send(await view(user));
      },
    );

    app.get(
      '/api/v1/users',
      {
        schema: {
          tags,
          summary: 'List usernames',
          querystring: listQuery,
          response: { 200: usersPage, ...errorResponses },
        },
      },
      async (request) => {
        const query = request.query;
        return { users: await users.list(query.offset, query.limit), offset: query.offset };
      },
    );

    app.get(
      '/api/v1/users/:username',
      {
        schema: {
          tags,
          summary: 'Read a user (never its PIN)',
          params,
          response: { 200: userViewSchema, ...errorResponses },
        },
      },
      async (request) => {
        const { username: name } = request.params;
        const user = await users.get(name);
        if (!user) throw new AppError('user_not_found');
        return view(user);
      },
    );

    app.patch(
      '/api/v1/users/:username',
      {
        schema: {
          tags,
          summary: 'Change a user; null clears a field, locked:false unlocks',
          params,
          body: patch,
          response: { 200: userViewSchema, ...errorResponses },
        },
      },
      async (request) => {
        const { username: name } = request.params;
        const body = request.body;
        const phones = body.phones ? normalizePhones(body.phones, deps.phonePolicy) : undefined;
        if (body.pin) assertPinAllowed(body.pin, { ...(await users.get(name))?.phones, ...phones });
        const pinHash = body.pin ? await deps.hasher.hash(body.pin) : body.pin;
        let before: User | undefined;
        const updated = await users.update(name, (user) => {
          before = user;
          return {
            ...user,
            ...(body.displayName !== undefined ? { displayName: body.displayName } : {}),
            ...(body.email !== undefined ? { email: body.email } : {}),
            ...(phones ? { phones: { ...user.phones, ...phones } } : {}),
            ...(body.method ? { method: body.method } : {}),
            ...(body.language ? { language: body.language } : {}),
            ...(pinHash !== undefined
              ? { pinHash, pinMustChange: pinHash ? (body.pinMustChange ?? true) : false }
              : {}),
            ...(pinHash === undefined && body.pinMustChange !== undefined
              ? { pinMustChange: body.pinMustChange }
              : {}),
            updatedAt: clock.now(),
          };
        });
        if (!updated) throw new AppError('user_not_found');
        if (before) await deps.adminChanges.record(updated.username, settingChanges(before, updated));
        if (body.locked === false) await deps.guard.unlock(updated.username, 'api-key');
        return view(updated);
      },
    );

    app.delete(
      '/api/v1/users/:username',
      {
        schema: {
          tags,
          summary: 'Delete a user',
          params,
          response: { 204: z.null().describe('deleted'), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { username: name } = request.params;
        if (!(await deps.deletion.delete(name))) throw new AppError('user_not_found');
        return reply.code(204).send(null);
      },
    );
  };
}

export type { PhoneFields };
