/**
 * A real SMTP server for tests (the `smtp-server` package) on a free loopback port: no TLS, no auth or PLAIN/LOGIN
 * auth, every accepted message captured and parsed (`mailparser`) enough to read the envelope, headers and body.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { findFreePort, LOOPBACK } from '../../src/redis/redis-process.js';

export interface CapturedMail {
  /** SMTP envelope */
  envelopeFrom: string;
  envelopeTo: string[];
  /** Parsed headers and body */
  from: string;
  /** The To header as text, e.g. `"Ada" <ada@example.test>`. */
  to: string;
  /** The addresses of the To header. */
  toAddresses: string[];
  subject: string;
  text: string;
  html: string | null;
  messageId: string;
  /** The message as received. */
  raw: string;
  /** The user that authenticated, when auth is on. */
  user: string | null;
}

export interface SmtpServerHandle {
  host: string;
  port: number;
  /** `smtp://[user:pass@]127.0.0.1:port` */
  url: string;
  messages: CapturedMail[];
  /** Errors the server reported (connections that failed). */
  errors: Error[];
  /** Resolves once `count` messages arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
  stop(): Promise<void>;
}

export async function startSmtpServer(
  opts: { auth?: { user: string; pass: string } } = {},
): Promise<SmtpServerHandle> {
  const messages: CapturedMail[] = [];
  const waiters = new Set<() => void>();
  const auth = opts.auth;

  const server = new SMTPServer({
    logger: false,
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    size: 1024 * 1024,
    closeTimeout: 1000,
    onAuth(credentials, _session, callback) {
      if (auth && credentials.username === auth.user && credentials.password === auth.pass) {
        callback(null, { user: credentials.username });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const toList = Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [];
            messages.push({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              from: parsed.from?.text ?? '',
              to: toList.map((list) => list.text).join(', '),
              toAddresses: toList.flatMap((list) => list.value.map((address) => address.address ?? '')),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              messageId: parsed.messageId ?? '',
              raw: raw.toString('utf8'),
              user: typeof session.user === 'string' ? session.user : null,
            });
            for (const wake of waiters) wake();
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });

  // Connection errors (a client hanging up mid-session) are reported here; without a listener they would throw.
  const errors: Error[] = [];
  server.on('error', (error: Error) => errors.push(error));

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await findFreePort(LOOPBACK);
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen(port, LOOPBACK, () => {
          server.off('error', onError);
          resolve();
        });
      });
      break;
    } catch (error) {
      // Another process took the port between findFreePort and listen: try once more.
      if (attempt === 1 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw error;
    }
  }

  const credentials = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';
  let stopping: Promise<void> | undefined;
  return {
    host: LOOPBACK,
    port,
    url: `smtp://${credentials}${LOOPBACK}:${port}`,
    messages,
    errors,
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`smtp test server: ${messages.length} of ${count} messages after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopping;
    },
  };
}
