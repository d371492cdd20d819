import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  DEV_MAIL_CSP,
  DEV_MAIL_CSS,
  DEV_MAIL_CSS_PATH,
  DEV_MAIL_JSON_PATH,
  DEV_MAIL_PATH,
  renderDevMailList,
  renderDevMailMessage,
  renderDevMailNotFound,
} from '../../web/mail/dev-mail-page.js';
import type { DevMailbox } from './dev-mailbox.js';

const PAGE_LIMIT = 100;

/**
 * The dev mailbox in a browser: `GET /dev/mail` (list), `GET /dev/mail/:id` (one text body), `GET /dev/mail.json`
 * (for tests; `?limit=N`). Mount only when mail goes to the dev mailbox (no SMTP server configured).
 */
export function devMailRoutes(deps: { mailbox: DevMailbox }): FastifyPluginAsync {
  const { mailbox } = deps;
  return async (app) => {
    app.get(DEV_MAIL_CSS_PATH, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(DEV_MAIL_CSS),
    );

    app.get(DEV_MAIL_PATH, async (_request, reply) =>
      page(reply, 200, renderDevMailList(await mailbox.list(PAGE_LIMIT))),
    );

    app.get<{ Params: { id: string } }>(`${DEV_MAIL_PATH}/:id`, async (request, reply) => {
      const mail = await mailbox.get(request.params.id);
      return mail ? page(reply, 200, renderDevMailMessage(mail)) : page(reply, 404, renderDevMailNotFound());
    });

    app.get<{ Querystring: Record<string, unknown> }>(DEV_MAIL_JSON_PATH, async (request) => {
      const limit = Number(request.query.limit);
      const messages = await mailbox.list(Number.isInteger(limit) && limit > 0 ? limit : undefined);
      return { messages };
    });
  };
}

function page(reply: FastifyReply, status: number, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', DEV_MAIL_CSP)
    .send(body);
}
