/**
 * Helpers shared by the embedded Redis of `npm start` and the Redis the tests start: free ports, a
 * dependency-free PING over a plain TCP socket, and spawning/stopping a `redis-server` child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { findExecutable } from '../system/find-executable.js';

export const LOOPBACK = '127.0.0.1';

/** Asks the OS for a free TCP port on `host` (binds port 0, reads it, closes). Racy by nature: retry on EADDRINUSE. */
export function findFreePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close(() => reject(new Error(`could not read the port bound on ${host}`)));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on `host:port` (we can bind it ourselves). */
export function isPortFree(port: number, host: string = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A RESP value as far as these helpers need it. */
export type RespValue = string | number | null | RespError | RespValue[];

export class RespError extends Error {
  override name = 'RespError';
}

/**
 * Parses one RESP2 value from `buf` at `offset`. Returns `undefined` when the buffer does not yet hold a
 * complete value, and throws when the bytes are not RESP at all.
 */
export function parseResp(buf: Buffer, offset = 0): { value: RespValue; next: number } | undefined {
  if (offset >= buf.length) return undefined;
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buf.length < afterLine + length + 2) return undefined;
      return { value: buf.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(
        `not a RESP reply (starts with ${JSON.stringify(buf.toString('utf8', offset, offset + 16))})`,
      );
  }
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/**
 * Sends one raw request to a Redis server over a fresh TCP connection and resolves with the first reply
 * (an error reply resolves to a `RespError`, it does not reject). Rejects on connection errors, on a
 * non-RESP answer, or after `timeoutMs`.
 */
export function sendRedisRequest(
  port: number,
  request: Buffer | string,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<RespValue> {
  const host = opts.host ?? LOOPBACK;
  const timeoutMs = opts.timeoutMs ?? 1000;
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ port, host });
    const finish = (error: Error | undefined, value?: RespValue) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`connection to ${host}:${port} closed before a reply`)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const parsed = parseResp(received);
        if (parsed !== undefined) finish(undefined, parsed.value);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once('connect', () => socket.write(request));
  });
}

/** True when `host:port` answers an inline `PING` with `+PONG`. Never throws. */
export async function pingRedis(
  port: number,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<boolean> {
  try {
    return (await sendRedisRequest(port, 'PING\r\n', opts)) === 'PONG';
  } catch {
    return false;
  }
}

/** The `process_id` a Redis server reports in `INFO server`, or `undefined` when it cannot be read. Never throws. */
export async function redisProcessId(
  port: number,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<number | undefined> {
  try {
    const info = await sendRedisRequest(port, encodeCommand(['INFO', 'server']), opts);
    const match = typeof info === 'string' ? /^process_id:(\d+)/m.exec(info) : null;
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Full path of the `redis-server` executable found on PATH, or `undefined`. */
export function findRedisServerBinary(envPath: string | undefined = process.env.PATH): string | undefined {
  return findExecutable('redis-server', { envPath });
}

/** Why a `redis-server` child did not become ready. `output` is the tail of its stdout and stderr. */
export class RedisStartError extends Error {
  override name = 'RedisStartError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output.trim() === '' ? message : `${message}\n--- redis-server output ---\n${output.trim()}`);
  }

  /** The port was taken between choosing it and redis binding it. */
  get addressInUse(): boolean {
    return /Address already in use|Failed listening on port/i.test(this.output);
  }
}

export interface RedisChild {
  readonly child: ChildProcess;
  /** Resolves once the process has exited (or failed to spawn). */
  readonly exited: Promise<void>;
  /** The last few kilobytes of the process's stdout and stderr (redis logs to stdout by default). */
  output(): string;
  hasExited(): boolean;
  /** SIGTERM (redis flushes its AOF and exits), SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 16 * 1024;

/** Spawns `redis-server` with the given arguments (separate argv entries, no shell). */
export function spawnRedisServer(args: readonly string[], opts: { binary?: string } = {}): RedisChild {
  const child = spawn(opts.binary ?? 'redis-server', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      output += `\n${error.message}`;
      // A spawn failure emits no 'exit'; any other error is followed by 'exit' anyway.
      if (child.pid === undefined) {
        exited = true;
        resolve();
      }
    });
  });
  const hasExited = () => exited || child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    exited: exitedPromise,
    output: () => output,
    hasExited,
    async stop(graceMs = 5000) {
      if (hasExited()) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exitedPromise.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut && !hasExited()) {
        child.kill('SIGKILL');
        await exitedPromise;
      }
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `host:port` with `PING` until it answers `+PONG`. Throws a `RedisStartError` carrying the child's
 * output when the child exits first or after `timeoutMs` (default 10 s).
 */
export async function waitForRedisPing(
  redis: RedisChild,
  port: number,
  opts: { host?: string; timeoutMs?: number } = {},
): Promise<void> {
  const host = opts.host ?? LOOPBACK;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (redis.hasExited()) {
      const { exitCode, signalCode } = redis.child;
      const how = signalCode !== null ? `signal ${signalCode}` : `code ${exitCode ?? 'unknown'}`;
      throw new RedisStartError(
        `redis-server exited (${how}) before answering PING on ${host}:${port}`,
        redis.output(),
      );
    }
    // A PONG from some other server that won a port race does not count: check the process id.
    if (
      (await pingRedis(port, { host, timeoutMs: 500 })) &&
      (await redisProcessId(port, { host })) === redis.child.pid
    ) {
      return;
    }
    if (Date.now() >= deadline) {
      throw new RedisStartError(
        `redis-server did not answer PING on ${host}:${port} within ${timeoutMs} ms`,
        redis.output(),
      );
    }
    await Promise.race([sleep(50), redis.exited]);
  }
}
