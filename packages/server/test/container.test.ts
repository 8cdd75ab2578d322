/**
 * The container files, without a container daemon (there is none on these machines): the
 * Dockerfile's instructions (non-root, health check, nothing secret baked in), the structure
 * of deploy/compose.yaml and deploy/Caddyfile (two nodes on one PostgreSQL and one Redis,
 * the proxy forwarding to both, health checks, read-only and non-root app nodes, only
 * variables the server reads), and the image's exact entry command run here with the
 * environment compose gives a node: it answers its health check and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiRoutes } from '@securechat/protocol';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../../test-support/net.js';
import { createTestDatabase, type TestDatabase } from './support/harness.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// --- Dockerfile -----------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions per stage (continuation lines joined, comments dropped). */
function dockerStages(text: string): { name: string | null; instructions: Instruction[] }[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: { name: string | null; instructions: Instruction[] }[] = [];
  const preamble: Instruction[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\w+)\s+(.*)$/.exec(trimmed);
    if (!match) throw new Error(`not a Dockerfile instruction: ${trimmed}`);
    const instruction = { keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '' };
    if (instruction.keyword === 'FROM') {
      stages.push({ name: /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1] ?? null, instructions: [] });
    }
    (stages.at(-1)?.instructions ?? preamble).push(instruction);
  }
  return stages;
}

const dockerfile = dockerStages(read('Dockerfile'));
const runtime = dockerfile.at(-1)?.instructions ?? [];
const last = (keyword: string) => runtime.filter((i) => i.keyword === keyword).at(-1)?.args;
/** The exec form of an instruction: a JSON array of strings. */
function execForm(args: string | undefined): string[] {
  const value: unknown = JSON.parse(args ?? 'null');
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return value;
}
const ENTRY = execForm(last('CMD'));
const HEALTHCHECK = execForm(/CMD\s+(\[.*\])$/.exec(last('HEALTHCHECK') ?? '')?.[1]);
/** ENV of the runtime stage (KEY=value pairs). */
const IMAGE_ENV = Object.fromEntries(
  runtime
    .filter((i) => i.keyword === 'ENV')
    .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? ''])),
);

// --- compose.yaml and the Caddyfile -----------------------------------------------------------

interface Service {
  image?: string;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  networks?: string[] | Record<string, { ipv4_address?: string }>;
  ports?: string[];
  command?: string[];
}
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const APP_NODES = ['app1', 'app2'] as const;
const app = (name: (typeof APP_NODES)[number]): Service => {
  const service = services[name];
  if (!service) throw new Error(`compose.yaml has no service ${name}`);
  return service;
};
const caddyfile = read('deploy/Caddyfile');

/** Every environment variable name the server's configuration reads (config.ts). */
const CONFIG_NAMES = new Set(
  [...read('packages/server/src/config.ts').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)].map(
    (m) => m[1] ?? '',
  ),
);

/** Compose's ${NAME} and ${NAME:?message} interpolation, from `values`. */
function interpolate(value: string, values: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_m, name: string) => {
    const found = values[name];
    if (found === undefined) throw new Error(`no value for ${name}`);
    return found;
  });
}

/** Values for deploy/.env, as an operator fills it in (the secrets here are stand-ins). */
const SAMPLE_DOTENV = {
  SECURECHAT_DOMAIN: 'chat.example.test',
  POSTGRES_PASSWORD: 'pg-password',
  REDIS_PASSWORD: 'redis-password',
  COOKIE_SECRET: 'c'.repeat(43),
  OPAQUE_SERVER_SETUP: 'o'.repeat(171),
  MASTER_KEY: 'm'.repeat(43),
};

describe('the Dockerfile', () => {
  it('has a build stage and a runtime stage that runs as an unprivileged user', () => {
    expect(dockerfile.map((s) => s.name)).toEqual(['toolchain', 'build', 'deps', 'runtime']);
    const user = last('USER') ?? 'root';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // The user is the base image's "node" (uid 1000), which compose runs as too.
    expect(user).toBe('node');
    expect(app('app1').user).toBe('1000:1000');
    // The runtime stage installs nothing: production dependencies come from the deps stage.
    expect(runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args)).toEqual([
      'mkdir -p /data && chown node:node /data && chmod 700 /data',
    ]);
    const deps = dockerfile.find((s) => s.name === 'deps')?.instructions ?? [];
    expect(
      deps.some((i) => i.args.includes('npm ci --omit=dev --workspace @securechat/server')),
    ).toBe(true);
  });

  it('copies what its entry command runs to where the command looks for it', () => {
    expect(last('WORKDIR')).toBe('/app');
    expect(ENTRY).toEqual(['node', 'packages/server/dist/main.js']);
    const copied = runtime
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args.split(/\s+/).at(-1));
    for (const needed of ['packages/server/dist', 'packages/protocol/dist', 'packages/web/dist']) {
      expect(copied).toContain(needed);
    }
    expect(IMAGE_ENV).toEqual({ HOST: '0.0.0.0', PORT: '3000', DATA_DIR: '/data' });
    expect(last('VOLUME')).toBe('["/data"]');
  });

  it('checks health with node against the health endpoint, the same check compose uses', () => {
    expect(HEALTHCHECK[0]).toBe('node');
    expect(HEALTHCHECK.join(' ')).toContain(ApiRoutes.health);
    for (const name of APP_NODES)
      expect(app(name).healthcheck?.test).toEqual(['CMD', ...HEALTHCHECK]);
  });

  it('bakes no secret in and keeps secrets and data out of the build context', () => {
    for (const stage of dockerfile) {
      for (const i of stage.instructions.filter(
        (x) => x.keyword === 'ENV' || x.keyword === 'ARG',
      )) {
        expect(i.args).not.toMatch(/SECRET|PASSWORD|TOKEN|OPAQUE|_KEY|DATABASE_URL|REDIS_URL/i);
      }
      for (const i of stage.instructions.filter(
        (x) => x.keyword === 'COPY' || x.keyword === 'ADD',
      )) {
        expect(i.args).not.toMatch(/\.env|secrets|data\b/);
      }
    }
    const ignored = read('.dockerignore').split('\n');
    for (const pattern of ['**/.env', 'data', '**/node_modules', '**/dist', '.git']) {
      expect(ignored).toContain(pattern);
    }
  });
});

describe('deploy/compose.yaml and deploy/Caddyfile', () => {
  it('runs two app nodes, the proxy, PostgreSQL and Redis', () => {
    expect(Object.keys(services).sort()).toEqual(['app1', 'app2', 'postgres', 'proxy', 'redis']);
    expect(app('app1')).toEqual(app('app2'));
  });

  it('points both nodes at the same PostgreSQL and Redis, with the same secrets', () => {
    for (const name of APP_NODES) {
      const env = app(name).environment ?? {};
      const database = new URL(interpolate(env.DATABASE_URL ?? '', SAMPLE_DOTENV));
      expect(database.password).toBe(SAMPLE_DOTENV.POSTGRES_PASSWORD);
      expect(services.postgres?.environment?.POSTGRES_PASSWORD).toBe(
        '${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in deploy/.env}',
      );
      expect(database.hostname).toBe('postgres');
      expect(database.username).toBe(services.postgres?.environment?.POSTGRES_USER);
      expect(database.pathname).toBe(`/${services.postgres?.environment?.POSTGRES_DB}`);
      const redisUrl = new URL(interpolate(env.REDIS_URL ?? '', SAMPLE_DOTENV));
      expect(redisUrl.hostname).toBe('redis');
      expect(redisUrl.password).toBe(SAMPLE_DOTENV.REDIS_PASSWORD);
      const command = services.redis?.command ?? [];
      expect(interpolate(command[command.indexOf('--requirepass') + 1] ?? '', SAMPLE_DOTENV)).toBe(
        SAMPLE_DOTENV.REDIS_PASSWORD,
      );
      expect(env.COOKIE_SECRET).toMatch(/^\$\{COOKIE_SECRET:\?/);
      expect(env.OPAQUE_SERVER_SETUP).toMatch(/^\$\{OPAQUE_SERVER_SETUP:\?/);
      expect(env.MASTER_KEY).toMatch(/^\$\{MASTER_KEY:\?/);
      expect(app(name).depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
  });

  it('gives the server only variables it reads, and no secret value in the file', () => {
    for (const name of APP_NODES) {
      const env = app(name).environment ?? {};
      for (const variable of Object.keys(env)) expect(CONFIG_NAMES).toContain(variable);
      for (const variable of ['COOKIE_SECRET', 'OPAQUE_SERVER_SETUP', 'MASTER_KEY']) {
        expect(env[variable]).toMatch(/^\$\{\w+:\?[^}]*\}$/);
      }
    }
    for (const service of Object.values(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|AUTH|SETUP|KEY/.test(variable))
          expect(value).toMatch(/^\$\{\w+:\?[^}]*\}$/);
      }
    }
    // The example env file names every variable compose needs, with no value filled in.
    const example = read('deploy/env.example');
    const needed = new Set(
      [...read('deploy/compose.yaml').matchAll(/\$\{(\w+)/g)].map((m) => m[1] ?? ''),
    );
    for (const variable of needed) expect(example).toMatch(new RegExp(`^${variable}=`, 'm'));
    for (const secret of [
      'POSTGRES_PASSWORD',
      'REDIS_PASSWORD',
      'COOKIE_SECRET',
      'OPAQUE_SERVER_SETUP',
      'MASTER_KEY',
    ]) {
      expect(example).toMatch(new RegExp(`^${secret}=$`, 'm'));
    }
  });

  it('runs the app nodes read-only and unprivileged, writing only to /data and /tmp', () => {
    for (const name of APP_NODES) {
      const node = app(name);
      expect(node.read_only).toBe(true);
      expect(node.tmpfs).toContain('/tmp');
      expect(node.user).not.toMatch(/^(root|0)(:|$)/);
      expect(node.environment?.DATA_DIR).toBe('/data');
      expect(node.volumes).toEqual(['app-data:/data']);
      expect(node.ports).toBeUndefined(); // reached through the proxy only
    }
    expect(Object.keys(compose.volumes)).toEqual(
      expect.arrayContaining(['app-data', 'postgres-data', 'caddy-data']),
    );
    expect(services.postgres?.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
  });

  it('has health checks for every service the others wait on', () => {
    expect(services.postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(services.redis?.healthcheck?.test.join(' ')).toContain('redis-cli ping');
    expect(services.proxy?.depends_on).toEqual({
      app1: { condition: 'service_healthy' },
      app2: { condition: 'service_healthy' },
    });
  });

  it('terminates TLS at Caddy, which forwards to both nodes and is the one trusted proxy', () => {
    const site = /^\{\$(\w+)\}\s*\{/m.exec(caddyfile);
    expect(site?.[1]).toBe('SECURECHAT_DOMAIN');
    expect(app('app1').environment?.PUBLIC_ORIGIN).toBe(
      'https://${SECURECHAT_DOMAIN:?set SECURECHAT_DOMAIN in deploy/.env}',
    );
    const upstreams = /reverse_proxy\s+([^{\n]+)\{/.exec(caddyfile)?.[1]?.trim().split(/\s+/);
    expect(upstreams).toEqual(APP_NODES.map((name) => `${name}:${app(name).environment?.PORT}`));
    expect(caddyfile).toMatch(new RegExp(`health_uri ${ApiRoutes.health}\\n`));
    expect(services.proxy?.ports).toEqual(expect.arrayContaining(['80:80', '443:443']));
    const networks = services.proxy?.networks as Record<string, { ipv4_address?: string }>;
    expect(app('app1').environment?.TRUST_PROXY).toBe(networks.backend?.ipv4_address);
  });
});

// --- the entry command ----------------------------------------------------------------------

const postgres = inject('services').postgres;
const redis = inject('services').redis;

describe.skipIf(postgres === null || redis === null)(
  "the image's entry command, outside a container, with a compose node's environment",
  () => {
    let database: TestDatabase;
    let dataDir: string;
    let child: ChildProcess | null = null;
    beforeAll(async () => {
      if (!existsSync(join(ROOT, ENTRY[1] ?? ''))) {
        throw new Error(`${ENTRY[1]} is not built: run \`npm run build\` before this test.`);
      }
      database = await createTestDatabase('postgres');
      dataDir = mkdtempSync(join(tmpdir(), 'securechat-container-'));
    });
    afterAll(async () => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    });

    it('answers its health check and stops cleanly on SIGTERM', async () => {
      await opaque.ready;
      const port = await freePort();
      // What deploy/.env gives compose; then this machine's PostgreSQL and Redis where compose
      // names its services, and a free port and a temporary folder for this run.
      const dotenv = {
        ...SAMPLE_DOTENV,
        COOKIE_SECRET: randomBytes(32).toString('base64url'),
        OPAQUE_SERVER_SETUP: opaque.server.createSetup(),
        MASTER_KEY: randomBytes(32).toString('base64url'),
      };
      const nodeEnv = Object.fromEntries(
        Object.entries(app('app1').environment ?? {}).map(([k, v]) => [k, interpolate(v, dotenv)]),
      );
      const env = {
        PATH: process.env.PATH ?? '',
        ...IMAGE_ENV,
        ...nodeEnv,
        DATABASE_URL: database.databaseUrl ?? '',
        REDIS_URL: redis ?? '',
        REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}:`,
        PORT: String(port),
        DATA_DIR: dataDir,
      };
      const [command, ...args] = ENTRY;
      expect(command).toBe('node');
      const started = spawn(process.execPath, args, {
        cwd: ROOT, // the image's WORKDIR holds the same layout
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      let stdout = '';
      let stderr = '';
      started.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      started.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => started.once('exit', resolve));

      const healthCheck = () =>
        spawnSync(process.execPath, HEALTHCHECK.slice(1), { env: { PORT: String(port) } }).status;
      const deadline = Date.now() + 25_000;
      while (healthCheck() !== 0) {
        if (started.exitCode !== null) throw new Error(`it exited: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no health: ${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const health = await fetch(`http://127.0.0.1:${port}${ApiRoutes.health}`);
      expect(health.status).toBe(200);
      expect(stdout).toContain('SecureChat is ready at https://chat.example.test');
      expect(stdout).toContain('"database":"postgres"');

      started.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('"msg":"shutting down"');
      expect(stderr).toBe('');
      expect(healthCheck()).toBe(1);
      // Secrets came from the environment: nothing was generated into DATA_DIR.
      expect(existsSync(join(dataDir, 'secrets'))).toBe(false);
    });
  },
);
