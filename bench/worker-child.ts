/**
 * The worker under test, in a process of its own so that its RSS and CPU can be read from /proc without the
 * benchmark's own work mixed in. Configured like a deployed worker (src/worker.ts runWorker): activities from the
 * environment (NEON_API_BASE_URL, NEON_API_KEY, NEON_RATE_PER_MINUTE, ...), default worker tuning
 * unless NEON_PROMOTE_MAX_CACHED_WORKFLOWS says otherwise; with BENCH_SHARED_BUDGET=1 the rate budget is the
 * account's, shared with the other workers (NEON_RATE_ACCOUNT names the account). The workflow code
 * comes pre-bundled (BENCH_WORKFLOW_BUNDLE) so each phase does not pay for webpack again.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivitiesFromEnv, type DbConnector } from '../src/activities';
import type { VerificationActivities, WriteActivities } from '../src/activities/contract';
import { createHealthActivities } from '../src/activities/health';
import { sharedRateBudget } from '../src/neon';
import { createWorker, workerTuningFromEnv } from '../src/worker';
import { accountHashOf, startSharedRateBudget, type SharedRateBudget } from '../src/worker/rate-lease';

/**
 * Memory-mode emulators have no Postgres behind their endpoints, so fleet runs (BENCH_NO_DATABASE=1) give the checks a
 * session that answers every query at once: the fleet measures orchestration and the API, not Postgres.
 */
const noDatabase: DbConnector = () =>
  Promise.resolve({
    query: () => Promise.resolve({ rows: [{ '?column?': 1 }], rowCount: 1, fields: [{ name: '?column?' }] }),
    close: () => Promise.resolve(),
  });

/**
 * Likewise the SQL of the write policies, the count of prod's writes since the fork and the data fingerprint, which
 * open sessions of their own (not through `db`): without a database they answer at once as a quiet prod would (no
 * writes, no sessions, nothing fenced), so the fleet's promotions run the whole default path (the fork point's
 * restore, fence, rollback snapshot, swap, lift) against the API.
 */
function noDatabaseWrites(
  verifyBranch: VerificationActivities['verifyBranch'],
): Partial<WriteActivities & VerificationActivities> {
  const at = () => new Date().toISOString();
  const fingerprint = (branchId: string) => ({ branchId, schemas: ['public'], tables: [], hash: 'bench' });
  const position = (branchId: string, since: boolean) => ({
    branchId,
    lsn: '0/0',
    tables: {},
    at: at(),
    otherSessions: 0,
    databaseReadOnly: false,
    tablesTruncated: false,
    comparison: since
      ? {
          writesDetected: false,
          rowsChangedByTable: {},
          rowsChanged: 0,
          lsnAdvanced: false,
          tablesAdded: [],
          tablesDropped: [],
          uncertain: [],
          exact: true,
          elapsedMs: 0,
        }
      : null,
  });
  return {
    // The checks run against the session that answers at once; the fingerprint they ask for is the one above.
    verifyBranch: async ({ fingerprint: wanted, ...i }) => {
      const checked = await verifyBranch(i);
      return wanted && checked.ok ? { ...checked, fingerprint: fingerprint(i.branchId) } : checked;
    },
    recordWritePosition: (i) => Promise.resolve(position(i.branchId ?? '', i.since !== undefined)),
    fenceWrites: (i) =>
      Promise.resolve({
        branchId: i.branchId ?? '',
        fencedAt: at(),
        alreadyFenced: false,
        sessionsEnded: 0,
        remainingSessions: [],
        ...(i.position ? { position: position(i.branchId ?? '', false) } : {}),
      }),
    liftFence: (i) =>
      Promise.resolve({
        branchId: i.branchId ?? null,
        wasFenced: true,
        liftedAt: at(),
        fencedForMs: 0,
        sessionsEnded: 0,
        skipped: null,
      }),
    fingerprintBranch: (i) => Promise.resolve(fingerprint(i.branchId)),
    diffSinceFork: () =>
      Promise.resolve({ tables: [], tablesAdded: [], tablesDropped: [], rowsChanged: 0, tablesCompared: 0 }),
  };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const activities = createActivitiesFromEnv(process.env, process.env.BENCH_NO_DATABASE ? { db: noDatabase } : {});
  const worker = await createWorker({
    connection,
    taskQueue: process.env.NEON_PROMOTE_TASK_QUEUE!,
    activities: {
      ...createHealthActivities('bench'),
      ...activities,
      ...(process.env.BENCH_NO_DATABASE ? noDatabaseWrites(activities.verifyBranch) : {}),
    },
    workflowBundle: { codePath: process.env.BENCH_WORKFLOW_BUNDLE! },
    tuning: workerTuningFromEnv(process.env),
  });
  const stop = () => worker.getState() === 'RUNNING' && worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Where the RSS goes (for docs/BENCHMARKS.md): the main isolate's heap (activities, the Neon client) and its
  // off-heap buffers; the rest is the workflow thread's isolate, Temporal's Rust core and code. Not on a signal:
  // Temporal's Runtime shuts the worker down on SIGUSR2.
  const every = Number(process.env.BENCH_MEMORY_LOG_MS ?? 0);
  if (every > 0) {
    const mb = (n: number) => Math.round(n / 2 ** 20);
    setInterval(() => {
      const m = process.memoryUsage();
      const parts = {
        rss: mb(m.rss),
        mainHeapTotal: mb(m.heapTotal),
        mainHeapUsed: mb(m.heapUsed),
        external: mb(m.external),
      };
      process.stderr.write(`WORKER_MEMORY_MB ${JSON.stringify(parts)}\n`);
    }, every).unref();
  }
  // BENCH_SHARED_BUDGET=1: the budget is the account's, leased to every worker of the account as runWorker does
  // (src/worker/rate-lease.ts); otherwise each worker process enforces the configured budget alone.
  let shared: SharedRateBudget | undefined;
  if (process.env.BENCH_SHARED_BUDGET === '1')
    shared = startSharedRateBudget({
      client: new Client({ connection }),
      taskQueue: process.env.NEON_PROMOTE_TASK_QUEUE!,
      accountHash: accountHashOf(process.env),
      budget: sharedRateBudget(),
    });
  process.stdout.write('WORKER_READY=1\n');
  try {
    await worker.run();
  } finally {
    await shared?.stop();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
