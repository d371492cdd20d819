import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';

/** Full path of an executable found on PATH, then in `extraDirs` (e.g. sbin folders), or `undefined`. */
export function findExecutable(
  name: string,
  options: { envPath?: string | undefined; extraDirs?: readonly string[] } = {},
): string | undefined {
  const envPath = 'envPath' in options ? options.envPath : process.env.PATH;
  for (const dir of [...(envPath ?? '').split(path.delimiter), ...(options.extraDirs ?? [])]) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
