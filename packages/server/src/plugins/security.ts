import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

// Placeholder: being implemented.
async function securityPlugin(_app: FastifyInstance, _opts: { config: Config }): Promise<void> {}

export default fp(securityPlugin, { name: 'security' });
