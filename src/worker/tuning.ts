import type { WorkerOptions } from '@temporalio/worker';

/** What a deployment may tune of the worker (tests that kill workers shorten the sticky queue's timeout). */
export type WorkerTuning = Pick<
  WorkerOptions,
  'stickyQueueScheduleToStartTimeout' | 'maxCachedWorkflows' | 'shutdownGraceTime'
>;

/**
 * Workflows kept in the worker's sticky cache unless tuning says otherwise (the SDK sizes its own default from the
 * heap limit: thousands). A workflow evicted from the cache is replayed from its history on its next task, in a fresh
 * instance of the workflow bundle: on the bench's fleets those replays, not the workflow code, were most of the
 * worker's CPU, so the cache is sized for a fleet of a few hundred runs at once at about half a megabyte each
 * (docs/BENCHMARKS.md has the measurements). NEON_PROMOTE_MAX_CACHED_WORKFLOWS overrides it (workerTuningFromEnv).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/** Worker tuning from the environment: NEON_PROMOTE_MAX_CACHED_WORKFLOWS (a whole number; 0 disables the cache). */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv): WorkerTuning {
  const value = env.NEON_PROMOTE_MAX_CACHED_WORKFLOWS;
  if (!value) return {};
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError('NEON_PROMOTE_MAX_CACHED_WORKFLOWS: a whole number >= 0');
  return { maxCachedWorkflows: count };
}
