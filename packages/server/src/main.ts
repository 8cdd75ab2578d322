/**
 * Start the server: read configuration (environment and .env), open and migrate the
 * database, build the app, listen, and shut down gracefully on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace';
import { config as loadDotEnv } from 'dotenv';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { loadSecrets } from './secrets.js';
import { migrateToLatest, openStorage } from './storage/db.js';
import { openVault } from './vault/index.js';
import { VaultKeyError } from './vault/master-key.js';

async function main(): Promise<void> {
  loadDotEnv({ quiet: true });
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`securechat: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const secrets = await loadSecrets(config);
  const storage = openStorage({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    synchronous: config.sqliteSynchronous,
  });
  let vault;
  try {
    vault = await openVault(config, storage.db);
    await migrateToLatest(storage, vault);
  } catch (error) {
    // A missing or wrong master key: one line, no stack (docs/operations.md, Keys and rotation).
    const cause =
      error instanceof Error && error.cause instanceof VaultKeyError ? error.cause : error;
    if (cause instanceof VaultKeyError) {
      process.stderr.write(`securechat: ${cause.message}\n`);
      await storage.close();
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const app = await buildApp({ config, secrets, storage, vault, logger });

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
  });

  await app.listen({ host: config.host, port: config.port });
  logger.info(
    { origin: config.publicOrigin, database: storage.dialect, registration: config.registration },
    `SecureChat is ready at ${config.publicOrigin}`,
  );
  // While there is no administrator: one warn line with the one-time setup link (by design).
  await app.services.accounts.announceFirstRunSetup();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `securechat: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
