import path from 'node:path';

/**
 * Whether @temporalio/interceptors-opentelemetry (an optional dependency) is installed where the bundler looks for it.
 * Resolved, not loaded.
 */
function workflowTracingInstalled(): boolean {
  try {
    require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow');
    return true;
  } catch {
    return false;
  }
}

/**
 * Workflow interceptors (notifications of every run's outcome; projectId on workflow log lines; run and promotion
 * metrics; OpenTelemetry spans, exported only by a worker that traces). createWorker adds them when it bundles; pass
 * them to bundleWorkflowCode's `workflowInterceptorModules` when building a bundle yourself (without them, no run
 * notifies).
 *
 * The tracing one is left out where @temporalio/interceptors-opentelemetry is not installed, as the bundler could not
 * resolve what it requires; such a worker cannot trace either (it refuses to start traced). Where it is installed it is
 * in the bundle whether or not the worker traces: it acts only in runs whose caller traced, and such a run then goes
 * through the same interceptors on every worker it moves to, traced or not, as its replays need.
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('../workflows/notify/interceptor'),
  require.resolve('../workflows/runtime/interceptors'),
  ...(workflowTracingInstalled() ? [require.resolve('../workflows/runtime/tracing')] : []),
];

/**
 * Modules the workflow bundle evaluates once per worker (the reusable V8 context's bootstrap) instead of once per
 * workflow execution: src/shared/zod.ts, which configures zod's English messages, and with it every zod
 * module it imports (zod/mini, zod/v4/core, the English locale). zod itself is not listed: its package declares no
 * side effects, so webpack compiles a bare preload of `zod/mini` to nothing. The SDK deep-freezes what it preloads,
 * so nothing here may hold per-workflow state or build schemas (zod defines lazy properties on a schema on first
 * use). `srcDir` is the package's source root, src/ (bench/workflow-memory.ts passes a copy of the tree).
 */
export function workflowPreloadModules(srcDir = path.join(__dirname, '..')): string[] {
  return [path.join(srcDir, 'shared', 'zod')];
}

/**
 * The bundler options of every workflow bundle: createWorker's own (`bundlerOptions`) and the ones tests and benches
 * build with bundleWorkflowCode (spread them into its options), so they run what production runs.
 */
export const WORKFLOW_BUNDLE_OPTIONS = { preloadModules: workflowPreloadModules() };
