/**
 * Durable acknowledgements on SQLite without stopping the server for a disk flush.
 *
 * In WAL mode SQLite's `synchronous = FULL` differs from NORMAL in one thing only: after each
 * commit it syncs the write-ahead log. better-sqlite3 is synchronous, so that sync (about a
 * millisecond on these machines, far more on a busy disk) would stop the event loop — every
 * socket — once per transaction. Instead the connection runs NORMAL and the server syncs the
 * log itself, with `fdatasync` on the libuv thread pool, before it answers a request that
 * wrote: the answer (and a send's delivery) still comes only once the commit is on disk, and
 * one sync covers every commit made while the previous one was under way (group commit).
 *
 * The log file is not one SQLite locks (its locks are on the database and the -shm files), so
 * holding a descriptor of our own on it is safe; it is opened on the first sync, after the
 * first commit has created it, and kept while the connection lives (SQLite only deletes the
 * log when its last connection closes).
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface WalSync {
  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function createWalSync(path: string): WalSync {
  let handle: Promise<FileHandle> | null = null;
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;

  const syncOnce = async () => {
    const opening = (handle ??= open(path, 'r'));
    try {
      await (await opening).datasync();
    } catch (error) {
      if (handle === opening) handle = null; // a failed open is tried again next time
      throw error;
    }
  };

  function sync(): Promise<void> {
    if (running === null) {
      running = syncOnce().finally(() => {
        running = null;
      });
      return running;
    }
    // The sync under way may have started before the caller's commit: the next one covers
    // it, shared by everyone who asks meanwhile.
    const again = () => {
      next = null;
      return sync();
    };
    next ??= running.then(again, again);
    return next;
  }

  return {
    sync,
    async close() {
      await Promise.allSettled([running, next]);
      const closing = handle;
      handle = null;
      if (closing) await (await closing).close();
    },
  };
}
