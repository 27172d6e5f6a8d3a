/**
 * The worker under test, in a process of its own so that its RSS and CPU can be read from /proc without the
 * benchmark's own work mixed in. Configured like a deployed worker (src/worker.ts runWorker): activities from the
 * environment (NEON_API_BASE_URL, NEON_API_KEY, NEON_RATE_PER_MINUTE, ...), default worker tuning
 * unless NEON_PROMOTE_MAX_CACHED_WORKFLOWS says otherwise. The workflow code
 * comes pre-bundled (BENCH_WORKFLOW_BUNDLE) so each phase does not pay for webpack again.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivitiesFromEnv, type DbConnector } from '../src/activities';
import { createHealthActivities } from '../src/activities/health';
import { createWorker, workerTuningFromEnv } from '../src/worker';

/**
 * Memory-mode emulators have no Postgres behind their endpoints, so fleet runs (BENCH_NO_DATABASE=1) give the checks a
 * session that answers every query at once: the fleet measures orchestration and the API, not Postgres.
 */
const noDatabase: DbConnector = () =>
  Promise.resolve({
    query: () => Promise.resolve({ rows: [{ '?column?': 1 }], rowCount: 1, fields: [{ name: '?column?' }] }),
    close: () => Promise.resolve(),
  });

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await createWorker({
    connection,
    taskQueue: process.env.NEON_PROMOTE_TASK_QUEUE!,
    activities: {
      ...createHealthActivities('bench'),
      ...createActivitiesFromEnv(process.env, process.env.BENCH_NO_DATABASE ? { db: noDatabase } : {}),
    },
    workflowBundle: { codePath: process.env.BENCH_WORKFLOW_BUNDLE! },
    tuning: workerTuningFromEnv(process.env),
  });
  const stop = () => worker.getState() === 'RUNNING' && worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write('WORKER_READY=1\n');
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
