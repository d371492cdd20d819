/**
 * Throw-away certificates for TLS tests, made with Debian's `openssl` in a temporary folder: a CA, and server
 * certificates it signs for the names the test asks for (DNS names or IP addresses in subjectAltName).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
  /** A server certificate signed by this CA for `names`; its key is unencrypted. */
  issue(name: string, names: string[]): Promise<{ certFile: string; keyFile: string }>;
  remove(): Promise<void>;
}

export async function createTestCa(label = 'Test CA'): Promise<TestCa> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-tls-'));
  const certFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'ca-key.pem');
  // biome-ignore format: one flag and its value per line
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', `/CN=${label}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    dir,
    certFile,
    keyFile,
    async issue(name, names) {
      const key = path.join(dir, `${name}-key.pem`);
      const csr = path.join(dir, `${name}.csr`);
      const cert = path.join(dir, `${name}.pem`);
      const ext = path.join(dir, `${name}.ext`);
      const alt = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      await writeFile(ext, `subjectAltName=${alt}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
      // biome-ignore format: one flag and its value per line
      await run('openssl', [
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', csr, '-subj', `/CN=${names[0] ?? name}`,
      ]);
      // biome-ignore format: one flag and its value per line
      await run('openssl', [
        'x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-CAcreateserial',
        '-out', cert, '-days', '2', '-extfile', ext,
      ]);
      return { certFile: cert, keyFile: key };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
