/**
 * A real reverse-proxy hop on loopback, and a client that chooses its own source address. Linux answers on all
 * of 127.0.0.0/8, so a test can have a client at 127.0.0.2, a proxy that connects out from 127.0.0.3 and the
 * server on 127.0.0.1: three distinct peers, as in production. The proxy appends the address it saw to
 * `X-Forwarded-For`, as nginx's `$proxy_add_x_forwarded_for` does, so a client's own header stays leftmost.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyHop {
  url: string;
  close(): Promise<void>;
}

export async function startProxyHop(target: string, options: { localAddress: string }): Promise<ProxyHop> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const seen = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    const forwarded = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${seen}` : seen;
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': forwarded },
        localAddress: options.localAddress,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request from `localAddress` (fetch cannot choose its source address). */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: init.method ?? 'GET', headers: init.headers ?? {}, localAddress, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
