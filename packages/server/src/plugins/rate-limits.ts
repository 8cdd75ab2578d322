/**
 * Rate limits. Every request — pages, API, misses, refusals — counts against a per-address
 * budget (@fastify/rate-limit); registrations against the address. A login counts against
 * the account from this address (Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS_PER_MINUTE),
 * the address over all accounts, and a looser ceiling for the account from anywhere
 * (Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE): someone who floods logins for a name from
 * elsewhere spends their own budgets, not the real user's.
 * An address is keyed whole for IPv4 and by its /64 for IPv6 (one host usually owns a whole
 * /64); an IPv4-mapped IPv6 address counts as the IPv4 address it maps (see addressKey).
 * With REDIS_URL every budget is kept in Redis and shared by all nodes (each node falls back
 * to counting alone while Redis is unreachable).
 * Over a limit the answer is 429 with Retry-After. The address is the socket's peer unless
 * the request came through a configured trusted proxy (TRUST_PROXY), so a client cannot
 * dodge a limit by inventing X-Forwarded-For.
 */
import rateLimit from '@fastify/rate-limit';
import { ChatError, Limits } from '@securechat/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { addressKey } from '../domain/address.js';

export interface Limiters {
  /**
   * Count one login attempt for this account from this address; throws CHAT_ERR_RATE_LIMITED
   * over a limit.
   */
  login(ip: string, usernameKey: string): Promise<void>;
  /** Count one registration from this address. */
  registration(ip: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    limits: Limiters;
  }
}

/** A budget and its name (the metrics' `limit` label). */
interface Budget {
  name: string;
  limiter: RateLimiterAbstract;
}

async function consume(
  { name, limiter }: Budget,
  key: string,
  refused: (limit: string) => void,
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    if (error instanceof RateLimiterRes) {
      refused(name);
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
    keyGenerator: (request) => addressKey(request.ip),
    // Counted by name: the per-address budget, or the route's own (its pattern names it).
    onExceeded: (request) =>
      app.metrics.refused(
        request.routeOptions.config.rateLimit === undefined
          ? 'http-address'
          : `http-route:${request.routeOptions.url ?? ''}`,
      ),
    errorResponseBuilder: (_request, context) =>
      new ChatError('CHAT_ERR_RATE_LIMITED', undefined, {
        retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });

  // A route with a budget of its own (`config: { rateLimit }`, e.g. the WebSocket upgrade) is
  // counted by that budget instead.
  const perAddress = app.rateLimit();
  app.addHook('onRequest', async function (request, reply) {
    if (request.routeOptions.config.rateLimit !== undefined) return;
    await perAddress.call(this, request, reply);
  });

  const limiter = (keyPrefix: string, points: number, duration: number): Budget => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!redis) return { name: keyPrefix, limiter: memory };
    const shared = new RateLimiterRedis({
      storeClient: redis.commands,
      keyPrefix: `${redis.prefix}${keyPrefix}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
    return { name: keyPrefix, limiter: shared };
  };
  const perAccount = Math.max(
    Limits.LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE,
    rateLimits.loginPerMinute,
  );
  const loginByAccountAndAddress = limiter('login-account-ip', rateLimits.loginPerMinute, 60);
  const loginByAccount = limiter('login-account', perAccount, 60);
  const loginByAddress = limiter('login-ip', rateLimits.loginPerMinute, 60);
  const registrationByAddress = limiter('register-ip', rateLimits.registrationsPerHour, 3600);

  const { refused } = app.metrics;
  app.decorate<Limiters>('limits', {
    async login(ip, usernameKey) {
      // The address's own budgets first, both charged, so a guess costs the guesser on each.
      // Only an attempt they let through spends the account's ceiling: a flood from one
      // address, refused there, never reaches the budget the real user shares.
      const address = addressKey(ip);
      const results = await Promise.allSettled([
        consume(loginByAccountAndAddress, `${usernameKey}@${address}`, refused),
        consume(loginByAddress, address, refused),
      ]);
      const refusal = results.find((r) => r.status === 'rejected');
      if (refusal) throw refusal.reason;
      await consume(loginByAccount, usernameKey, refused);
    },
    registration: (ip) => consume(registrationByAddress, addressKey(ip), refused),
  });
}

export default fp(rateLimitsPlugin, {
  name: 'rate-limits',
  dependencies: ['services', 'metrics'],
});
