/**
 * The scaled-out mode under the same fan-out steps: PostgreSQL and Redis, first one node, then
 * two, each node pinned to a core of its own, the room's sockets dealt out among the nodes.
 * Shows how delivery grows with a second node (and what this machine lets it show: with two
 * cores, the second node shares its core with the load generator, and PostgreSQL and Redis
 * take their share of both).
 *
 * Needs PostgreSQL and Redis (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432;
 * BENCH_REDIS_URL, default redis://127.0.0.1:6379); uses a database and a key prefix of its
 * own, dropped afterwards.
 */
import pg from 'pg';
import { makeAccounts } from './accounts.js';
import {
  bestLine,
  progress,
  SERVER_ENV,
  sockets,
  stepRows,
  stepUp,
  thousands,
  type FanoutRun,
  type RealtimeOptions,
} from './realtime.js';
import { startServer, type ServerProcess } from './server-process.js';
import { printTable } from './stats.js';

export interface ClusterReport {
  members: number;
  oneNode: FanoutRun;
  twoNodes: FanoutRun;
  /** Best deliveries/s with two nodes over one. */
  scaling: number | null;
}

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function clusterBenchmark(
  options: RealtimeOptions,
  members: number,
): Promise<ClusterReport> {
  const name = `securechat_bench_${Date.now().toString(36)}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await admin(`create database ${name}`);
  const env = {
    ...SERVER_ENV,
    DATABASE_URL: url.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `${name}:`,
  };
  const nodes: ServerProcess[] = [];
  try {
    const first = await startServer({ env, cpus: '0' });
    nodes.push(first);
    progress(`cluster: making ${members} accounts on PostgreSQL…`);
    const accounts = await makeAccounts({
      origin: first.origin,
      prefix: `c${Date.now().toString(36)}x`,
      first: 0,
      count: members,
      devices: 1,
      workers: options.accountWorkers,
    });
    const room = { members, devicesPerMember: 1 };
    const specs = sockets(accounts, 1);
    const oneNode = await stepUp([first], 'securechat', specs, room, options, 'one node');
    // The second node shares the first one's data folder: the same secrets and master key.
    const second = await startServer({ env, cpus: '1', dataDir: first.dataDir });
    nodes.push(second);
    const twoNodes = await stepUp(nodes, 'securechat', specs, room, options, 'two nodes');
    const scaling =
      oneNode.best && twoNodes.best
        ? twoNodes.best.deliveredPerSecond / oneNode.best.deliveredPerSecond
        : null;
    const report = { members, oneNode, twoNodes, scaling };
    printCluster(report);
    return report;
  } finally {
    // The second node first: the first one's stop removes the data folder they share.
    for (const node of [...nodes].reverse()) await node.stop({ keepData: node !== nodes[0] });
    await admin(`drop database if exists ${name} with (force)`);
  }
}

function printCluster(report: ClusterReport): void {
  const room = `#general with ${report.members} members, PostgreSQL + Redis`;
  console.log(`\nCluster fan-out, one node (core 0) — ${room}`);
  printTable(stepRows(report.oneNode));
  console.log(`\nCluster fan-out, two nodes (cores 0 and 1, sockets dealt out) — ${room}`);
  printTable(stepRows(report.twoNodes));
  console.log(`one node:  ${bestLine(report.oneNode)}`);
  console.log(`two nodes: ${bestLine(report.twoNodes)}`);
  console.log(
    report.scaling === null
      ? 'scaling: not measured (a run had no passing step)'
      : `two nodes deliver ${report.scaling.toFixed(2)}× one node's best ` +
          `(${thousands(report.twoNodes.best?.deliveredPerSecond ?? 0)} against ` +
          `${thousands(report.oneNode.best?.deliveredPerSecond ?? 0)} deliveries/s); ` +
          'server CPU % sums both nodes',
  );
}
