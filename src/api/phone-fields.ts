import { z } from 'zod';
import { AppError } from '../errors.js';
import { normalizePhone, type PhonePolicy } from '../phone/phone-number.js';
import type { UserPhones } from '../users/user.js';

export const phonesSchema = z.strictObject({
  primary: z.string().max(32).nullable().optional(),
  extension: z
    .string()
    .regex(/^[0-9*#wW,]{1,16}$/, 'digits, * # and pauses (w or ,) only')
    .nullable()
    .optional(),
  backup: z.string().max(32).nullable().optional(),
  mobile: z.string().max(32).nullable().optional(),
});
export type PhoneFields = z.output<typeof phonesSchema>;

/** Normalises every given number to E.164 and applies the toll-fraud policy; null clears a number. */
export function normalizePhones(fields: PhoneFields, policy: PhonePolicy): UserPhones {
  const out: UserPhones = {};
  for (const name of ['primary', 'backup', 'mobile'] as const) {
    const value = fields[name];
    if (value === null) out[name] = undefined;
    else if (value !== undefined) out[name] = normalizePhone(value, policy, `phones.${name}`);
  }
  if (fields.extension === null) out.extension = undefined;
  else if (fields.extension !== undefined) {
    if (!fields.primary && fields.primary !== undefined)
      throw new AppError('invalid_phone', 'phones.extension needs a primary phone');
    out.extension = fields.extension;
  }
  return out;
}
