/**
 * Serves the built web app (packages/web/dist). Hashed files under /assets/ are cached for a
 * year; index.html is revalidated every time. Any other GET that a browser makes for a page
 * gets index.html, so the single-page app handles its own routes (and its own "page not
 * found"). /api paths never fall back to the app.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { ChatError } from '@securechat/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { NOT_BUILT_PAGE } from './pages.js';

/** packages/web/dist, from src/plugins or dist/plugins alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

function isPageRequest(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return (
    !path.startsWith('/api/') &&
    path !== '/api' &&
    (request.headers.accept ?? '').includes('text/html')
  );
}

async function webPlugin(
  app: FastifyInstance,
  opts: { config: Config; root?: string },
): Promise<void> {
  const root = opts.root ?? DEFAULT_WEB_ROOT;
  const built = existsSync(join(root, 'index.html'));

  if (built) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      dotfiles: 'deny',
      list: false,
      etag: true,
      lastModified: true,
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader(
          'cache-control',
          path.includes(`${'/'}assets${'/'}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }

  const fallback = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isPageRequest(request)) throw new ChatError('CHAT_ERR_NOT_FOUND');
    if (!built) {
      return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  };
  app.get('/*', fallback);
  if (!built) app.get('/', fallback);
}

export default fp(webPlugin, { name: 'web' });
