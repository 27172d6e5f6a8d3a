/**
 * The stack the benchmark runs on, all on loopback: one Temporal dev server for the whole run (SQLite in a temp dir),
 * and per phase an emulator process, the recording tap in front of it and a worker process pointed at the tap.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer } from '../../tools/dev/temporal-server';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';
import { freePort } from '../../test/support/ports';
import { compileWorker, readHandshake, spawnJs, spawnTs, stopChild, REPO } from './procs';
import { startTap, type Tap } from './tap';

export type Temporal = {
  server: DevServer;
  client: Client;
  connection: Connection;
  dir: string;
  bundlePath: string;
  /** The compiled worker (compileWorker), or null to run bench/worker-child.ts under tsx. */
  workerEntry: string | null;
};

/** The dev server with the local stack's dynamic config (tools/dev/temporal-server.ts), plus `dynamicConfig`. */
export async function startTemporal(
  log: (l: string) => void,
  dynamicConfig: Record<string, string | number | boolean> = {},
): Promise<Temporal> {
  const dir = mkdtempSync(path.join(tmpdir(), 'neon-promote-bench-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const dbFilename = path.join(dir, 'temporal.db');
  const server = await startDevServer({ dbFilename, port, uiPort, log, dynamicConfig });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  log('bundling workflows once for every worker of the run');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(REPO, 'src', 'workflows'),
    ...WORKFLOW_BUNDLE_OPTIONS,
    logger: { trace() {}, debug() {}, info() {}, warn: log, error: log, log() {} },
  });
  const bundlePath = path.join(dir, 'workflows.js');
  writeFileSync(bundlePath, code);
  // BENCH_WORKER_TSX=1 runs the worker under tsx instead, to compare with figures taken that way (docs/BENCHMARKS.md
  // says which).
  let workerEntry: string | null = null;
  if (!process.env.BENCH_WORKER_TSX) {
    log('compiling the worker (tsc), so it runs as a deployed worker does');
    workerEntry = compileWorker(path.join(dir, 'worker'));
  }
  return { server, client, connection, dir, bundlePath, workerEntry };
}

export async function stopTemporal(t: Temporal): Promise<void> {
  await t.connection.close();
  await t.server.stop();
  rmSync(t.dir, { recursive: true, force: true });
}

export type Neon = { baseUrl: string; apiKey: string; adminUrl: string };

export type Phase = {
  emulator: Neon;
  tap: Tap;
  /** What clients under test use: the tap's /api/v2. */
  neon: Neon;
  /** The first (or only) worker process: the one whose RSS and CPU a fleet reports. */
  worker: { pid: number };
  /** Every worker process of the phase (PhaseOptions.workers). */
  workers: { pid: number }[];
  /** The emulator's process (its CPU in the fleet's split). */
  emulatorPid: number;
  taskQueue: string;
  stop(): Promise<void>;
};

export type PhaseOptions = {
  temporal: Temporal;
  mode: 'data' | 'memory';
  opDelay: string;
  snapshotQuota: number;
  /** Extra worker environment, e.g. the rate budget. */
  workerEnv: Record<string, string>;
  label: string;
  /** Worker processes on the phase's task queue (default 1). */
  workers?: number;
};

export async function startPhase(o: PhaseOptions): Promise<Phase> {
  // Memory mode without --data-dir keeps no state file (tools/emulator/index.ts): rewriting the whole state per change
  // was the fleet's bound. BENCH_MEMORY_STATE_FILE=1 puts it back (on tmpfs) to compare.
  const shm =
    o.mode === 'memory' && process.env.BENCH_MEMORY_STATE_FILE && existsSync('/dev/shm')
      ? mkdtempSync('/dev/shm/neon-emu-bench-')
      : undefined;
  const args = ['--port', '0', '--op-delay', o.opDelay, '--snapshot-quota', String(o.snapshotQuota)];
  if (o.mode === 'memory') args.push('--memory');
  if (shm) args.push('--data-dir', shm);
  const emuChild = spawnTs('tools/emulator/main.ts', args);
  const cleanups: (() => Promise<void>)[] = [
    async () => {
      await stopChild(emuChild);
      if (shm) rmSync(shm, { recursive: true, force: true });
    },
  ];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const hs = await readHandshake(emuChild, ['NEON_API_BASE_URL', 'NEON_API_KEY', 'NEON_EMULATOR_ADMIN_URL']);
    const emulator = {
      baseUrl: hs.NEON_API_BASE_URL!,
      apiKey: hs.NEON_API_KEY!,
      adminUrl: hs.NEON_EMULATOR_ADMIN_URL!,
    };
    const tap = await startTap(new URL(emulator.baseUrl).origin);
    cleanups.push(() => tap.stop());
    const neon = { ...emulator, baseUrl: `${tap.url}/api/v2` };
    const taskQueue = `bench-${o.label}-${process.pid}`;
    const workerEnv = {
      TEMPORAL_ADDRESS: o.temporal.server.address,
      NEON_PROMOTE_TASK_QUEUE: taskQueue,
      NEON_API_BASE_URL: neon.baseUrl,
      NEON_API_KEY: neon.apiKey,
      NEON_SNAPSHOT_LIMIT: String(o.snapshotQuota),
      BENCH_WORKFLOW_BUNDLE: o.temporal.bundlePath,
      // Node flags for the worker alone (e.g. --max-old-space-size), to see what bounds its RSS.
      ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
      ...o.workerEnv,
    };
    const { workerEntry } = o.temporal;
    const workers: { pid: number }[] = [];
    for (let i = 0; i < (o.workers ?? 1); i++) {
      const workerChild = workerEntry
        ? spawnJs(workerEntry, [], workerEnv, process.env.BENCH_WORKER_NODE_ARGS?.split(/\s+/).filter(Boolean))
        : spawnTs('bench/worker-child.ts', [], workerEnv);
      cleanups.push(() => stopChild(workerChild, 30_000));
      await readHandshake(workerChild, ['WORKER_READY']);
      const tag = (o.workers ?? 1) > 1 ? `[worker ${i + 1}]` : '[worker]';
      workerChild.stderr?.on('data', (d: Buffer) => process.stderr.write(`${tag} ${d.toString()}`));
      workers.push({ pid: workerChild.pid! });
    }
    return { emulator, tap, neon, worker: workers[0]!, workers, emulatorPid: emuChild.pid!, taskQueue, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The emulator's own per-route request counts (its admin API, not counted as API calls). */
export async function requestCounts(neon: Neon): Promise<Record<string, number>> {
  const res = await fetch(`${neon.adminUrl}/request-counts`, { headers: { authorization: `Bearer ${neon.apiKey}` } });
  return ((await res.json()) as { counts: Record<string, number> }).counts;
}

export const totalCalls = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);

export function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
