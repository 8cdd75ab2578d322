import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Secrets } from '../secrets.js';

// Placeholder: being implemented.
async function csrfPlugin(
  _app: FastifyInstance,
  _opts: { config: Config; secrets: Secrets },
): Promise<void> {}

export default fp(csrfPlugin, { name: 'csrf' });
