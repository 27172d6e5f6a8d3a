import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import path from 'node:path';
import { createActivitiesFromEnv } from './activities';
import { createHealthActivities } from './activities/health';
import { createNotifyActivities, webhookSettingsFromEnv } from './activities/notify';
import { createRunActivities } from './activities/runs';
import { activityLogAttributes } from './observability/activity-interceptors';
import { loggerFromEnv } from './observability/logger';
import { installRuntime, metricsSettingsFromEnv } from './observability/runtime';
import { connectionOptions, temporalSettingsFromEnv } from './temporal/connection';
import { autoHeartbeat } from './worker-heartbeat';

/** The task queue neon-promote's workflows run on unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'neon-promote';

/**
 * Workflow interceptors (notifications of every run's outcome; projectId on workflow log lines; run and promotion
 * metrics). createWorker adds them when it bundles; pass them to bundleWorkflowCode's `workflowInterceptorModules`
 * when building a bundle yourself (without them, no run notifies).
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('./workflows/notify-interceptor'),
  require.resolve('./observability/workflow-interceptors'),
];

/**
 * Modules the workflow bundle evaluates once per worker (the reusable V8 context's bootstrap) instead of once per
 * workflow execution (issue 9): src/shared/zod.ts, which configures zod's English messages, and with it every zod
 * module it imports (zod/mini, zod/v4/core, the English locale). zod itself is not listed: its package declares no
 * side effects, so webpack compiles a bare preload of `zod/mini` to nothing. The SDK deep-freezes what it preloads,
 * so nothing here may hold per-workflow state or build schemas (zod defines lazy properties on a schema on first
 * use). `srcDir` is the directory of this file (bench/workflow-memory.ts passes a copy of the tree).
 */
export function workflowPreloadModules(srcDir = __dirname): string[] {
  return [path.join(srcDir, 'shared', 'zod')];
}

/**
 * The bundler options of every workflow bundle: createWorker's own (`bundlerOptions`) and the ones tests and benches
 * build with bundleWorkflowCode (spread them into its options), so they run what production runs.
 */
export const WORKFLOW_BUNDLE_OPTIONS = { preloadModules: workflowPreloadModules() };

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
  tuning?: Pick<WorkerOptions, 'stickyQueueScheduleToStartTimeout' | 'maxCachedWorkflows' | 'shutdownGraceTime'>;
};

/**
 * Workflows kept in the worker's sticky cache unless tuning says otherwise (the SDK sizes its own default from the
 * heap limit: thousands). A workflow evicted from the cache is replayed from its history on its next task, in a fresh
 * instance of the workflow bundle: on the bench's fleets those replays, not the workflow code, were most of the
 * worker's CPU. With zod preloaded and the input schemas built lazily, a cached workflow waiting on an activity costs
 * ~0.5 MB of RSS (481 KB, bench/workflow-memory.ts --preload, 2026-11-22), more while it runs. The bench's fleet of
 * 100 promotions (200 workflows with their coordinators), two runs each, 2026-11-22 (docs/BENCHMARKS.md): cache 40 took
 * 92 and 85 s, 84 and 81 s of worker CPU, 481 and 460 MB peak RSS; cache 250 took 53 and 53 s, 29 and 29 s, 397 and
 * 408 MB. NEON_PROMOTE_MAX_CACHED_WORKFLOWS overrides it (workerTuningFromEnv).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/** A worker for neon-promote's workflows; workflows come from the src/workflows barrel. */
export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    // The scheduled-run workflow's activities need only the worker's own Temporal client: always registered. So are
    // the notification ones (without a webhook of the worker's own unless opts.activities brings configured ones).
    activities: { ...createRunActivities(), ...createNotifyActivities(), ...opts.activities },
    interceptors: {
      activity: [autoHeartbeat(), activityLogAttributes()],
      // A pre-built bundle carries its own interceptors; naming them again would only draw a warning.
      ...(opts.workflowBundle ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    ...opts.tuning,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows'), bundlerOptions: WORKFLOW_BUNDLE_OPTIONS }),
  });
}

/**
 * Runs a worker from environment settings until SIGINT/SIGTERM: Temporal's TEMPORAL_* settings, the task queue from
 * NEON_PROMOTE_TASK_QUEUE, and the Neon activities' NEON_API_KEY and friends (see createActivitiesFromEnv). Logs are
 * JSON lines on stdout (NEON_PROMOTE_LOG_LEVEL, NEON_PROMOTE_LOG_FORMAT); NEON_PROMOTE_METRICS_PORT and
 * NEON_PROMOTE_METRICS_HOST serve Prometheus metrics; NEON_PROMOTE_WEBHOOK_URL and NEON_PROMOTE_WEBHOOK_SECRET
 * configure notifications; NEON_PROMOTE_MAX_CACHED_WORKFLOWS the sticky cache (default DEFAULT_MAX_CACHED_WORKFLOWS).
 */
export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = temporalSettingsFromEnv(env);
  const logger = loggerFromEnv(env);
  const metrics = metricsSettingsFromEnv(env);
  installRuntime({ logger, metrics });
  const activities = {
    ...createHealthActivities(),
    ...createActivitiesFromEnv(env),
    ...createNotifyActivities(webhookSettingsFromEnv(env)),
  };
  const connection = await NativeConnection.connect(connectionOptions(settings));
  try {
    const taskQueue = env.NEON_PROMOTE_TASK_QUEUE || DEFAULT_TASK_QUEUE;
    const tuning = workerTuningFromEnv(env);
    const worker = await createWorker({ connection, namespace: settings.namespace, taskQueue, activities, tuning });
    logger.info(
      { address: settings.address, namespace: settings.namespace, taskQueue, metrics: metrics?.bindAddress ?? null },
      'worker started',
    );
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
}

/** Worker tuning from the environment: NEON_PROMOTE_MAX_CACHED_WORKFLOWS (a whole number; 0 disables the cache). */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv): CreateWorkerOptions['tuning'] {
  const value = env.NEON_PROMOTE_MAX_CACHED_WORKFLOWS;
  if (!value) return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RangeError('NEON_PROMOTE_MAX_CACHED_WORKFLOWS: a whole number >= 0');
  return { maxCachedWorkflows: n };
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
