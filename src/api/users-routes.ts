import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { LANGUAGES } from '../../flows/i18n/index.js';
import type { Clock } from '../clock.js';
import { conflict, notFound } from '../errors.js';
import type { PhonePolicy } from '../phone/phone-number.js';
import { hashSecret } from '../security/pin-hash.js';
import type { UserStore } from '../store/user-store.js';
import { METHODS, publicUser, type User } from '../users/user.js';
import { parseOr400 } from './parse.js';
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
const pin = z.string().regex(/^\d{4,8}$/, 'must be 4 to 8 digits');
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
const patchSchema = z.strictObject(editable);
const listQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const params = z.object({ username });

/** Admin CRUD for users. PINs go in, never out: responses say only whether a PIN is set. */
export function usersRoutes(deps: {
  users: UserStore;
  clock: Clock;
  phonePolicy: PhonePolicy;
  defaults: { language: User['language'] };
}): FastifyPluginAsync {
  const { users, clock } = deps;
  const view = async (user: User) => publicUser(user, await users.standing(user.username), clock.now());

  return async (app) => {
    app.post('/api/v1/users', async (request, reply) => {
      const body = parseOr400(createSchema, request.body);
      const now = clock.now();
      const user: User = {
        username: body.username,
        displayName: body.displayName ?? body.username,
        email: body.email ?? '',
        phones: normalizePhones(body.phones ?? {}, deps.phonePolicy),
        method: body.method ?? 'sms',
        language: body.language ?? deps.defaults.language,
        pinHash: body.pin ? await hashSecret(body.pin) : null,
        // A PIN an administrator chose is known to someone else: the user changes it at first use.
        pinMustChange: body.pin ? (body.pinMustChange ?? true) : false,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await users.create(user))) throw conflict('user_exists', 'A user with this username exists');
      return reply.code(201).send(await view(user));
    });

    app.get('/api/v1/users', async (request) => {
      const query = parseOr400(listQuery, request.query);
      return { users: await users.list(query.offset, query.limit), offset: query.offset };
    });

    app.get('/api/v1/users/:username', async (request) => {
      const { username: name } = parseOr400(params, request.params);
      const user = await users.get(name);
      if (!user) throw notFound('user_not_found', 'No such user');
      return view(user);
    });

    app.patch('/api/v1/users/:username', async (request) => {
      const { username: name } = parseOr400(params, request.params);
      const body = parseOr400(patchSchema, request.body);
      const phones = body.phones ? normalizePhones(body.phones, deps.phonePolicy) : undefined;
      const pinHash = body.pin ? await hashSecret(body.pin) : body.pin;
      const updated = await users.update(name, (user) => ({
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
      }));
      if (!updated) throw notFound('user_not_found', 'No such user');
      return view(updated);
    });

    app.delete('/api/v1/users/:username', async (request, reply) => {
      const { username: name } = parseOr400(params, request.params);
      if (!(await users.delete(name))) throw notFound('user_not_found', 'No such user');
      return reply.code(204).send();
    });
  };
}

export type { PhoneFields };
