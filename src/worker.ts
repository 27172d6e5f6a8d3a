import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivitiesFromEnv } from './activities';
import { createHealthActivities } from './activities/health';
import { httpGetter } from './activities/database/connect';
import { createNotifyActivities, webhookSettingsFromEnv } from './activities/notify/deliver';
import { privateHttpAllowedFromEnv } from './activities/notify/outbound';
import { createRunActivities } from './activities/temporal/runs';
import { activityLogAttributes } from './worker/activity-interceptors';
import { loggerFromEnv } from './observability/logger';
import { tracingFromEnv } from './observability/tracing';
import { installRuntime, metricsSettingsFromEnv } from './worker/runtime';
import { connectionOptions, temporalSettingsFromEnv } from './temporal/connection';
import { DEFAULT_TASK_QUEUE } from './temporal/task-queue';
import { WORKFLOW_BUNDLE_OPTIONS, WORKFLOW_INTERCEPTOR_MODULES, workflowPreloadModules } from './worker/bundle';
import { autoHeartbeat } from './worker/heartbeat';
import { accountHashOf, startSharedRateBudget } from './worker/rate-lease';
import { sharedRateBudget } from './neon';
import { tracingOptions, UNTRACED_SINKS, type WorkerTracing } from './worker/tracing';
import { DEFAULT_MAX_CACHED_WORKFLOWS, workerTuningFromEnv, type WorkerTuning } from './worker/tuning';

export { DEFAULT_TASK_QUEUE, WORKFLOW_BUNDLE_OPTIONS, WORKFLOW_INTERCEPTOR_MODULES, workflowPreloadModules };
export { DEFAULT_MAX_CACHED_WORKFLOWS, workerTuningFromEnv, type WorkerTuning };
export { startTracing, tracingFromEnv, type Tracing } from './observability/tracing';
export { UNTRACED_SINKS, type WorkerTracing };

export type CreateWorkerOptions = {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Activity implementations; tests pass fakes or ones built on the emulator. */
  activities: object;
  /** A pre-built bundle (bundleWorkflowCode), in memory or in a file, so tests and worker processes bundle once. */
  workflowBundle?: { code: string } | { codePath: string };
  identity?: string;
  /** Passed through (e.g. a short stickyQueueScheduleToStartTimeout in tests that kill workers). */
  tuning?: WorkerTuning;
  /**
   * OpenTelemetry (startTracing's result, or the processor and resource of the embedding service's own provider):
   * spans of workflows, activities and Neon requests. Without it none are exported.
   */
  tracing?: WorkerTracing;
};

/** A worker for neon-promote's workflows; workflows come from the src/workflows barrel. */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const tracing = await tracingOptions(opts.tracing);
  return Worker.create({
    maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    // The scheduled-run workflow's activities need only the worker's own Temporal client: always registered. So are
    // the notification ones (without a webhook of the worker's own unless opts.activities brings configured ones).
    activities: { ...createRunActivities(), ...createNotifyActivities(), ...opts.activities },
    interceptors: {
      // Tracing's first: its span covers the others.
      activity: [...tracing.activity, autoHeartbeat(), activityLogAttributes()],
      // A pre-built bundle carries its own interceptors; naming them again would only draw a warning.
      ...(opts.workflowBundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    sinks: tracing.sinks,
    ...opts.tuning,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows'), bundlerOptions: WORKFLOW_BUNDLE_OPTIONS }),
  });
}

export type RunWorkerOptions = {
  /** A pre-built bundle (bundleWorkflowCode) instead of bundling on start (worker processes of tests and benches). */
  workflowBundle?: { codePath: string };
};

/**
 * Runs a worker from environment settings until SIGINT/SIGTERM: Temporal's TEMPORAL_* settings, the task queue from
 * NEON_PROMOTE_TASK_QUEUE, and the Neon activities' NEON_API_KEY and friends (see createActivitiesFromEnv). The Neon
 * rate budget (NEON_RATE_PER_MINUTE, NEON_RATE_PER_SECOND_PER_ROUTE: the account's whole budget) is shared with every
 * worker of the account in the namespace through the account's budget workflow (src/worker/rate-lease.ts);
 * NEON_RATE_ACCOUNT names the account when workers use several of its keys. Logs are
 * JSON lines on stdout (NEON_PROMOTE_LOG_LEVEL, NEON_PROMOTE_LOG_FORMAT); NEON_PROMOTE_METRICS_PORT and
 * NEON_PROMOTE_METRICS_HOST serve Prometheus metrics; NEON_PROMOTE_WEBHOOK_URL and NEON_PROMOTE_WEBHOOK_SECRET
 * configure notifications; NEON_PROMOTE_MAX_CACHED_WORKFLOWS the sticky cache (default DEFAULT_MAX_CACHED_WORKFLOWS);
 * NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1 lets webhooks and `http` checks reach loopback, private and link-local addresses.
 * The standard OTEL_* variables turn on OpenTelemetry tracing (see tracingSettingsFromEnv).
 */
export async function runWorker(env: NodeJS.ProcessEnv = process.env, options: RunWorkerOptions = {}): Promise<void> {
  const settings = temporalSettingsFromEnv(env);
  const logger = loggerFromEnv(env);
  const metrics = metricsSettingsFromEnv(env);
  const activities = {
    ...createHealthActivities(),
    ...createActivitiesFromEnv(env, { httpGet: httpGetter({ allowPrivateNetwork: privateHttpAllowedFromEnv(env) }) }),
    ...createNotifyActivities(webhookSettingsFromEnv(env)),
  };
  // Before the Runtime: a setting it cannot honour (a tracing package not installed) ends the process here, with
  // nothing native started that would keep it alive.
  const tracing = await tracingFromEnv(env, 'neon-promote-worker');
  installRuntime({ logger, metrics });
  const connection = await NativeConnection.connect(connectionOptions(settings));
  try {
    const taskQueue = env.NEON_PROMOTE_TASK_QUEUE || DEFAULT_TASK_QUEUE;
    const tuning = workerTuningFromEnv(env);
    const worker = await createWorker({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities,
      tuning,
      tracing,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
    });
    // The activities' Neon clients use the process's budget; from now on it enforces this worker's share.
    const budget = startSharedRateBudget({
      client: new Client({ connection, namespace: settings.namespace }),
      taskQueue,
      accountHash: accountHashOf(env),
      budget: sharedRateBudget(),
      log: logger,
    });
    logger.info(
      {
        address: settings.address,
        namespace: settings.namespace,
        taskQueue,
        metrics: metrics?.bindAddress ?? null,
        tracing: Boolean(tracing),
      },
      'worker started',
    );
    try {
      await worker.run();
    } finally {
      await budget.stop();
    }
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await tracing?.shutdown();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
