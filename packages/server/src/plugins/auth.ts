import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

// Placeholder: being implemented.
async function authPlugin(_app: FastifyInstance, _opts: { config: Config }): Promise<void> {}

export default fp(authPlugin, { name: 'auth' });
