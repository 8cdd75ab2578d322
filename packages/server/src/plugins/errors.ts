import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// Placeholder: being implemented.
async function errorsPlugin(_app: FastifyInstance, _opts: object): Promise<void> {}

export default fp(errorsPlugin, { name: 'errors' });
