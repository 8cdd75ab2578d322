/**
 * Serves the built web app (packages/web/dist). Hashed files under /assets/ are cached for a
 * year; index.html is revalidated every time. Any other GET that a browser makes for a page
 * gets index.html, so the single-page app handles its own routes (and its own "page not
 * found"). /api paths never reach this plugin: the API scope answers all of them (app.ts).
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { NOT_BUILT_PAGE } from './pages.js';

/** packages/web/dist, from src/plugins or dist/plugins alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * True for a browser asking for a page the single-page app may know: not a file under /assets/ (a missing hashed file is a 404, not the app), no dot-segment anywhere.
 */
function isPageRequest(request: FastifyRequest): boolean {
  let path: string;
  try {
    path = decodeURIComponent(request.url.split('?', 1)[0] ?? '');
  } catch {
    return false;
  }
  return (
    !path.startsWith('/assets/') &&
    !path.split('/').some((segment) => segment.startsWith('.')) &&
    (request.headers.accept ?? '').includes('text/html')
  );
}

async function webPlugin(
  app: FastifyInstance,
  opts: { config: Config; root?: string },
): Promise<void> {
  const root = resolve(opts.root ?? DEFAULT_WEB_ROOT);
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
        // Vite names everything under assets/ by its content hash: it can never change.
        const hashed = relative(root, path).startsWith(`assets${sep}`);
        res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  const fallback = async (request: FastifyRequest, reply: FastifyReply) => {
    // Not a page: the 404 handler decides (404, or 405 for a known path).
    if (!isPageRequest(request)) return reply.callNotFound();
    if (!built) {
      return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  };
  // Pages, not API: left out of the OpenAPI document.
  app.get('/*', { schema: { hide: true } }, fallback);
  if (!built) app.get('/', { schema: { hide: true } }, fallback);
}

export default fp(webPlugin, { name: 'web' });
