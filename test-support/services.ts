/**
 * Runs once before the suites: finds out which real services this machine has (PostgreSQL,
 * Redis, Chromium) and hands the answer to the tests through `inject('services')`.
 *
 * On a developer machine a missing service skips the suites that need it, loudly. With
 * SECURECHAT_REQUIRE_ALL=1 (set by .ci/run) a missing service fails the run instead.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';

export interface Services {
  postgres: string | null;
  redis: string | null;
  chromium: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: Services;
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export default async function setup(project: TestProject): Promise<void> {
  const postgresUrl =
    process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const pg = new URL(postgresUrl);
  const rd = new URL(redisUrl);
  const services: Services = {
    postgres: (await reachable(pg.hostname, Number(pg.port || 5432))) ? postgresUrl : null,
    redis: (await reachable(rd.hostname, Number(rd.port || 6379))) ? redisUrl : null,
    chromium: existsSync(chromiumPath) ? chromiumPath : null,
  };
  const missing: string[] = [];
  if (!services.postgres)
    missing.push(
      `PostgreSQL at ${pg.host}: start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\` (or set TEST_DATABASE_URL)`,
    );
  if (!services.redis)
    missing.push(
      `Redis at ${rd.host}: start it with \`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\` (or set TEST_REDIS_URL)`,
    );
  if (!services.chromium)
    missing.push(
      `Chromium at ${chromiumPath}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`,
    );
  if (missing.length > 0) {
    const lines = missing.map((m) => `  - ${m}`).join('\n');
    if (process.env.SECURECHAT_REQUIRE_ALL === '1') {
      throw new Error(`Required test services are missing (SECURECHAT_REQUIRE_ALL=1):\n${lines}`);
    }
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\nSKIPPING the suites that need these services — the run is NOT complete:\n${lines}\n${bar}\n`,
    );
  }
  project.provide('services', services);
}
