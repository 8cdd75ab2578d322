import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

// Placeholder: being implemented.
async function webPlugin(
  _app: FastifyInstance,
  _opts: { config: Config; root?: string },
): Promise<void> {}

export default fp(webPlugin, { name: 'web' });
