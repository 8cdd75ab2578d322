/**
 * The secrets the server needs: the cookie-signing key and the OPAQUE server setup (its
 * long-term OPAQUE key pair and OPRF seed). Taken from the environment when given there
 * (required for several nodes: they must share them); otherwise generated on first start into
 * DATA_DIR/secrets/ with 0600 permissions and read back on later starts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as opaque from '@serenity-kit/opaque';
import type { Config } from './config.js';

export interface Secrets {
  cookieSecret: string;
  opaqueServerSetup: string;
}

function readOrCreate(dir: string, name: string, create: () => string): string {
  const file = join(dir, name);
  if (existsSync(file)) {
    return readFileSync(file, 'utf8').trim();
  }
  const value = create();
  // `wx`: never overwrite a secret another process wrote in the meantime.
  try {
    writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return readFileSync(file, 'utf8').trim();
    }
    throw error;
  }
  chmodSync(file, 0o600);
  return value;
}

export async function loadSecrets(config: Config): Promise<Secrets> {
  await opaque.ready;
  const fromEnv = config.secretsFromEnv;
  if (fromEnv.cookieSecret !== undefined && fromEnv.opaqueServerSetup !== undefined) {
    return { cookieSecret: fromEnv.cookieSecret, opaqueServerSetup: fromEnv.opaqueServerSetup };
  }
  const dir = join(config.dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return {
    cookieSecret:
      fromEnv.cookieSecret ??
      readOrCreate(dir, 'cookie-secret', () => randomBytes(32).toString('base64url')),
    opaqueServerSetup:
      fromEnv.opaqueServerSetup ??
      readOrCreate(dir, 'opaque-server-setup', () => opaque.server.createSetup()),
  };
}
