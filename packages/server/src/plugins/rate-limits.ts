/**
 * Rate limits. Every request — pages, API, misses, refusals — counts against a per-address
 * budget (@fastify/rate-limit); logins count against both the account and the address,
 * registrations against the address.
 * With REDIS_URL every budget is kept in Redis and shared by all nodes (each node falls back
 * to counting alone while Redis is unreachable).
 * Over a limit the answer is 429 with Retry-After. The address is the socket's peer unless
 * the request came through a configured trusted proxy (TRUST_PROXY), so a client cannot
 * dodge a limit by inventing X-Forwarded-For.
 */
import rateLimit from '@fastify/rate-limit';
import { ChatError } from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.js';

export interface Limiters {
  /** Count one login attempt for this account and this address; throws CHAT_ERR_RATE_LIMITED over the limit. */
  login(ip: string, usernameKey: string): Promise<void>;
  /** Count one registration from this address. */
  registration(ip: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    limits: Limiters;
  }
}

async function consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    if (error instanceof RateLimiterRes) {
      throw new ChatError('CHAT_ERR_RATE_LIMITED', undefined, {
        retryAfter: Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
      });
    }
    throw error;
  }
}

async function rateLimitsPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { rateLimits } = opts.config;
  const { redis } = app.services;
  await app.register(rateLimit, {
    ...(redis
      ? { redis: redis.commands, nameSpace: `${redis.prefix}http-`, skipOnError: true }
      : {}),
    // Not per route (the plugin's global mode hooks only routes, so misses and refusals would
    // go uncounted): one hook at the root, below, counts every request.
    global: false,
    max: rateLimits.apiPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      new ChatError('CHAT_ERR_RATE_LIMITED', undefined, {
        retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });

  app.addHook('onRequest', app.rateLimit());

  const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis.commands,
      keyPrefix: `${redis.prefix}${keyPrefix}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const loginByAccount = limiter('login-account', rateLimits.loginPerMinute, 60);
  const loginByAddress = limiter('login-ip', rateLimits.loginPerMinute, 60);
  const registrationByAddress = limiter('register-ip', rateLimits.registrationsPerHour, 3600);

  app.decorate<Limiters>('limits', {
    async login(ip, usernameKey) {
      // Both budgets are charged, so a wrong guess costs the attacker on each of them.
      const results = await Promise.allSettled([
        consume(loginByAccount, usernameKey),
        consume(loginByAddress, ip),
      ]);
      const refused = results.find((r) => r.status === 'rejected');
      if (refused) throw refused.reason;
    },
    registration: (ip) => consume(registrationByAddress, ip),
  });
}

export default fp(rateLimitsPlugin, { name: 'rate-limits', dependencies: ['services'] });
