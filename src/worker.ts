import { NativeConnection, Worker } from '@temporalio/worker';
import { createHealthActivities } from './activities/health';
import { connectionOptions, temporalSettingsFromEnv } from './temporal/connection';

/** The task queue neon-promote's workflows run on unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'neon-promote';

export type CreateWorkerOptions = {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Activity implementations; tests pass fakes or ones built on the emulator. */
  activities: object;
  /** A pre-built bundle (bundleWorkflowCode) so tests bundle once per file instead of once per worker. */
  workflowBundle?: { code: string };
  identity?: string;
};

/** A worker for neon-promote's workflows; workflows come from the src/workflows barrel. */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: opts.activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
  });
}

/** Runs a worker from environment settings until SIGINT/SIGTERM. */
export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = temporalSettingsFromEnv(env);
  const connection = await NativeConnection.connect(connectionOptions(settings));
  try {
    const worker = await createWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: env.NEON_PROMOTE_TASK_QUEUE || DEFAULT_TASK_QUEUE,
      activities: { ...createHealthActivities() },
    });
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
