/**
 * Child processes for benchmarks: a Node script pinned to given cores (`taskset -c`), with
 * its open-file soft limit raised to the hard limit (every WebSocket is a file), and a typed
 * request/reply channel over Node's IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SpawnOptions {
  /** A `taskset -c` core list such as '0' or '1'; absent = any core. */
  cpus?: string | undefined;
  /** Node flags before the script, e.g. --inspect. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Give the child an IPC channel (it must be a Node script). */
  ipc?: boolean;
  stdout?: 'ignore' | 'inherit';
}

/** Raise the soft open-file limit as far as allowed, then run the command (same pid). */
const RAISE_NOFILE = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

export function spawnNode(script: string, args: string[], options: SpawnOptions): ChildProcess {
  const node = [process.execPath, ...(options.nodeArgs ?? []), script, ...args];
  const command = options.cpus === undefined ? node : ['taskset', '-c', options.cpus, ...node];
  return spawn('bash', ['-c', RAISE_NOFILE, 'bash', ...command], {
    env: { ...process.env, ...options.env },
    stdio: options.ipc
      ? ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc']
      : ['ignore', options.stdout ?? 'inherit', 'inherit'],
  });
}

/** The path of a compiled sibling module (bench scripts run from dist/). */
export function sibling(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

/** A message from a worker: the reply to request `id`, or its failure. */
export type WorkerReply<R> =
  { id: number; ok: true; result: R } | { id: number; ok: false; error: string };

/**
 * The parent's end of a worker: `call` sends one request and resolves with its reply.
 * `Requests` maps each request type to its message and result.
 */
export class Worker<Requests extends Record<string, { message: object; result: unknown }>> {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: WorkerReply<unknown>) => {
      const entry = this.waiting.get(message.id);
      if (!entry) return;
      this.waiting.delete(message.id);
      if (message.ok) entry.resolve(message.result);
      else entry.reject(new Error(message.error));
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        for (const entry of this.waiting.values())
          entry.reject(new Error(`worker exited with ${code} during a request`));
        this.waiting.clear();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<K extends keyof Requests & string>(
    type: K,
    message: Requests[K]['message'],
  ): Promise<Requests[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve, reject });
      this.child.send({ ...message, type, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * The worker's end: run `handlers[type]` for each request and send back its result. The
 * process exits when the parent goes away.
 */
export function serveRequests<
  Requests extends Record<string, { message: object; result: unknown }>,
>(handlers: {
  [K in keyof Requests]: (message: Requests[K]['message']) => Promise<Requests[K]['result']>;
}): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw: { type: keyof Requests; id: number }) => {
    const handler = handlers[raw.type];
    handler(raw as unknown as Requests[typeof raw.type]['message']).then(
      (result) => process.send?.({ id: raw.id, ok: true, result }),
      (error: unknown) =>
        process.send?.({
          id: raw.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
}
