import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

const FILE = 'vapid-keys.json';

/**
 * VAPID keys identify this server to push services (no account needed). From the configuration when given, else
 * generated once into DATA_DIR and kept: a new key pair would orphan every device's subscription. Several engine
 * hosts must share one pair (configure it).
 */
export function loadVapidKeys(options: {
  dataDir: string;
  publicKey: string | undefined;
  privateKey: string | undefined;
  subject: string;
}): VapidKeys {
  if (options.publicKey && options.privateKey)
    return { publicKey: options.publicKey, privateKey: options.privateKey, subject: options.subject };
  const file = join(options.dataDir, FILE);
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
    if (stored.publicKey && stored.privateKey)
      return { publicKey: stored.publicKey, privateKey: stored.privateKey, subject: options.subject };
  } catch {
    // first run: generate below
  }
  const generated = webpush.generateVAPIDKeys();
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(generated)}\n`, { mode: 0o600 });
  return { ...generated, subject: options.subject };
}
