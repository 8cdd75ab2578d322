/**
 * A store in one JSON file under a directory, for Node (bots, the benchmark, tests). Every
 * change rewrites the file atomically: write a temporary file, then rename it over the old
 * one, so a crash leaves either the old or the new content, never half of one. Writes are
 * serialized.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataStore, emptyStoreData, type StoreData } from './memory.std.js';
import { storeName, type ConversationStore } from './store.js';

const FORMAT = 1;

async function load(path: string): Promise<StoreData> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as {
      format?: unknown;
      data?: StoreData;
    };
    return parsed.format === FORMAT && parsed.data
      ? { ...emptyStoreData(), ...parsed.data }
      : emptyStoreData();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyStoreData();
    throw error;
  }
}

/** Open (or create) the store of `userId` on `deviceId` under `directory`. */
export async function openFileStore(options: {
  directory: string;
  userId: string;
  deviceId: string;
}): Promise<ConversationStore> {
  await mkdir(options.directory, { recursive: true });
  const path = join(options.directory, `${storeName(options.userId, options.deviceId)}.json`);
  let queue: Promise<void> = Promise.resolve();
  let counter = 0;
  const persist = (data: StoreData): Promise<void> => {
    const run = queue.then(async () => {
      counter += 1;
      const temporary = `${path}.${process.pid}.${counter}.tmp`;
      try {
        await writeFile(temporary, JSON.stringify({ format: FORMAT, data }), { mode: 0o600 });
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return new DataStore(await load(path), persist);
}
