/**
 * Runs the real, built server in its own process for a benchmark, on a free port with a
 * throw-away data folder, and stops it afterwards. Optionally pinned to some cores, restarted
 * on the same data (accounts survive, the heap starts fresh), and inspectable from outside:
 * its resident memory and CPU time from /proc, and a forced garbage collection through the
 * inspector protocol.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { spawnNode } from './child.js';

export interface ServerOptions {
  /** Extra environment (rate limits, …). */
  env?: Record<string, string>;
  /** A `taskset -c` core list; absent = any core. */
  cpus?: string;
  /** Reuse this data folder (a restart); absent = a new temporary one. */
  dataDir?: string;
  port?: number;
  /** Open the inspector so `collectGarbage` and `heapUsed` work. */
  inspect?: boolean;
  /** Run this script instead of the SecureChat server (the reference server). */
  main?: string;
}

export interface ServerProcess {
  origin: string;
  port: number;
  pid: number;
  dataDir: string;
  /** Resident set size now, in bytes (VmRSS). */
  rssBytes(): number;
  /** User + system CPU time used so far, in seconds. */
  cpuSeconds(): number;
  /** Force a full garbage collection (needs `inspect`). */
  collectGarbage(): Promise<void>;
  /** The server's `process.memoryUsage()` (needs `inspect`). */
  memoryUsage(): Promise<NodeJS.MemoryUsage>;
  /** Stop the process; the data folder is removed unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** The server this benchmark runs: the workspace build, or BENCH_SERVER_MAIN. */
const SERVER_MAIN =
  process.env.BENCH_SERVER_MAIN ??
  fileURLToPath(new URL('../../../packages/server/dist/main.js', import.meta.url));

/** Extra Node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

const CLOCK_TICKS_PER_SECOND = 100;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitHealthy(child: ChildProcess, origin: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${origin}/api/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not become healthy in 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A minimal inspector-protocol client: one method call at a time. */
class Inspector {
  private nextId = 1;
  private constructor(private readonly socket: WebSocket) {}

  static async open(port: number): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error('the server has no inspector target');
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as {
          id?: number;
          result?: unknown;
          error?: unknown;
        };
        if (reply.id !== id) return;
        this.socket.off('message', onMessage);
        if (reply.error) reject(new Error(JSON.stringify(reply.error)));
        else resolve(reply.result);
      };
      this.socket.on('message', onMessage);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'securechat-bench-'));
  const origin = `http://127.0.0.1:${port}`;
  const inspectPort = options.inspect ? await freePort() : null;
  const child = spawnNode(options.main ?? SERVER_MAIN, [], {
    cpus: options.cpus,
    nodeArgs: [
      ...(inspectPort === null ? [] : [`--inspect=127.0.0.1:${inspectPort}`]),
      ...SERVER_NODE_ARGS,
    ],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_ORIGIN: origin,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdout: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitHealthy(child, origin);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const inspector = inspectPort === null ? null : await Inspector.open(inspectPort);
  const needInspector = () => {
    if (!inspector) throw new Error('start the server with { inspect: true }');
    return inspector;
  };
  const pid = child.pid ?? 0;
  return {
    origin,
    port,
    pid,
    dataDir,
    rssBytes: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return Number(kib ?? 0) * 1024;
    },
    cpuSeconds: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    },
    collectGarbage: async () => {
      await needInspector().call('HeapProfiler.collectGarbage');
    },
    memoryUsage: async () => {
      const reply = (await needInspector().call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      return JSON.parse(reply.result.value) as NodeJS.MemoryUsage;
    },
    stop: async (stopOptions = {}) => {
      inspector?.close();
      child.kill('SIGTERM');
      await exited;
      if (!stopOptions.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
