import { isLanguage } from '../../flows/i18n/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { Directory, DirectoryUser } from '../directory/directory.js';
import type { Logger } from '../log.js';
import { normalizePhone } from '../phone/phone-number.js';
import type { UserStore } from '../store/user-store.js';
import { isBlocked, lockState, type User } from '../users/user.js';

/**
 * After the password: a directory user the engine does not know yet is created from the directory's attributes
 * (the administrators' import, done on first sign-in too); then an enrolled user goes to the second factor and
 * everyone else to the enrollment wizard.
 */
export function afterPortalLogin(deps: {
  config: Pick<Config, 'phones' | 'defaultLanguage' | 'portal'>;
  directory: Directory;
  users: UserStore;
  clock: Clock;
  logger: Logger;
}) {
  return async (username: string): Promise<string | null> => {
    let user = await deps.users.get(username);
    if (!user) {
      const entry = await deps.directory.findUser(username);
      if (!entry) return null;
      user = fromDirectory(entry, deps.config, deps.clock.now());
      if (await deps.users.create(user))
        deps.logger.info({ user: user.username }, 'user created from the directory');
      user = (await deps.users.get(username)) ?? user;
    }
    const standing = await deps.users.standing(user.username);
    const now = deps.clock.now();
    if (isBlocked(standing, now) || lockState(standing, now).locked) return null;
    return user.enrolledAt ? '/verify' : '/setup';
  };
}

export function fromDirectory(
  entry: DirectoryUser,
  config: Pick<Config, 'phones' | 'defaultLanguage' | 'portal'>,
  now: number,
): User {
  const phone = (value: string | null) => {
    if (!value) return undefined;
    try {
      return normalizePhone(value, config.phones);
    } catch {
      return undefined; // a directory number the policy refuses is simply not offered
    }
  };
  const primary = phone(entry.phone);
  const mobile = phone(entry.mobile);
  const language = entry.language?.slice(0, 2).toLowerCase();
  return {
    username: entry.username,
    displayName: entry.displayName || entry.username,
    email: entry.email ?? '',
    phones: { ...(primary ? { primary } : {}), ...(mobile ? { mobile } : {}) },
    method: config.portal.methods[0] ?? 'voice',
    language: isLanguage(language) ? language : config.defaultLanguage,
    pinHash: null,
    pinMustChange: false,
    createdAt: now,
    updatedAt: now,
  };
}
