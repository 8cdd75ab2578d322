/**
 * The realtime benchmark end to end, in quick mode: the built bench (tools/bench/dist)
 * starts the built server (packages/server/dist) and its load generators as real processes,
 * and its JSON report has sane figures. Needs `npm run build` first (`npm test` does it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bench = join(root, 'tools/bench/dist/main.js');
const server = join(root, 'packages/server/dist/main.js');
const out = mkdtempSync(join(tmpdir(), 'bench-test-'));

interface Step {
  sent: number;
  acked: number;
  deliveries: number;
  lost: number;
  receivers: number;
  latency: { p50: number; p99: number };
}

interface Report {
  realtime: {
    fanout: {
      members: number;
      connections: number;
      securechat: { steps: Step[] };
      reference: { steps: Step[] } | null;
      ratio: number | null;
    }[];
    idle: { rows: { sockets: number; failed: number; rssBytes: number }[] };
    catchup: { messages: number; inOrder: boolean; totalMs: number } | null;
  };
}

function runBench(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bench],
      {
        cwd: root,
        env: { ...process.env, BENCH_QUICK: '1', BENCH_SUITES: 'realtime', BENCH_OUT: file },
        timeout: 230_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(),
    );
  });
}

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('realtime benchmark (quick mode, real processes)', () => {
  it('is built', () => {
    expect(existsSync(bench), 'run `npm run build` first').toBe(true);
    expect(existsSync(server), 'run `npm run build` first').toBe(true);
  });

  it(
    'measures fan-out against the reference, idle sockets and catch-up',
    { timeout: 240_000 },
    async () => {
      const file = join(out, 'bench.json');
      await runBench(file);
      const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
      const { fanout, idle, catchup } = report.realtime;

      expect(fanout.map((f) => f.members)).toEqual([4, 8]);
      for (const room of fanout) {
        // SecureChat and the Socket.IO reference server, through the same generator.
        expect(room.reference).not.toBeNull();
        expect(room.ratio).toBeGreaterThan(0);
        for (const first of [room.securechat.steps[0], room.reference?.steps[0]]) {
          expect(first).toBeDefined();
          if (!first) continue;
          // At the lowest rate everything acknowledged reaches every connection.
          expect(first.receivers).toBe(room.connections);
          expect(first.acked).toBe(first.sent);
          expect(first.deliveries).toBeGreaterThan(0);
          expect(first.lost).toBe(0);
          expect(first.deliveries).toBe(first.acked * first.receivers);
          expect(first.latency.p50).toBeGreaterThan(0);
          expect(first.latency.p99).toBeGreaterThanOrEqual(first.latency.p50);
        }
      }

      expect(idle.rows.map((r) => r.sockets)).toEqual([40, 120]);
      for (const row of idle.rows) {
        expect(row.failed).toBe(0);
        expect(row.rssBytes).toBeGreaterThan(0);
      }

      expect(catchup?.messages).toBe(300);
      expect(catchup?.inOrder).toBe(true);
      expect(catchup?.totalMs).toBeGreaterThan(0);
    },
  );
});
