import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPush {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * A Web Push service on loopback, as a browser vendor runs one: it takes the encrypted POST for a subscription
 * endpoint and answers with the status the test chooses (201, or 404/410 for a gone subscription).
 */
export async function startPushService() {
  const received: ReceivedPush[] = [];
  const statusFor = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(statusFor.get(path) ?? 201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    /** A browser-side subscription: its endpoint on this service, and the receiver's keys to decrypt with. */
    subscription(name: string) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16).toString('base64url');
      return {
        ecdh,
        auth,
        json: {
          endpoint: `${origin}/push/${name}`,
          keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth },
        },
      };
    },
    answerWith(name: string, status: number) {
      statusFor.set(`/push/${name}`, status);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
