/**
 * The Neon activities as workflows call them: one option set per kind of call, declared once. Every set of normal
 * activities has a heartbeat timeout: the worker heartbeats for activities that do not (src/worker/heartbeat.ts), so a
 * killed worker's activity is retried within seconds instead of after its whole start-to-close timeout.
 *
 * Short steps run as local activities: in the worker that runs the workflow task, results recorded as markers, with no
 * activity task through the server and no workflow task after each one (a promotion's plan and write guard: about six
 * fewer hand-offs). The trade-offs, and why these steps only: a local activity has no heartbeat (a dead worker is
 * noticed when its workflow task times out, 10 s, instead of the 5 s heartbeat timeout), retries within the worker
 * (backoffs over a minute become timers), and holds its workflow task open while it runs. Its result is on record only
 * once that task completes: a worker killed in the middle re-runs every local activity of the task, so a step may be
 * local only if running it again after the later ones changed things gives the same decision (reads, idempotent
 * writes; see `databaseWrites` for the read that is not). So: lookups (a few Neon reads, seconds at most) and the write
 * guard's SQL (fence, write positions after it: a session on prod, seconds). Mutations (minutes, with the operations
 * they wait for), checks, fingerprints, migrations, copies and compensations stay activities.
 */
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { ExplainActivities, NeonActivities as NeonOnly, WriteActivities } from '../../activities/types';
import { NON_RETRYABLE_ERROR_TYPES } from '../../shared/failure-types';

/** What workflows call: the Neon activities, the write-safety ones and the checks' EXPLAIN (one worker). */
type NeonActivities = NeonOnly & WriteActivities & ExplainActivities;

export { NON_RETRYABLE_ERROR_TYPES };

const retry = (
  maximumAttempts: number,
  maximumInterval: RetryPolicy['maximumInterval'] = '30 seconds',
): RetryPolicy => ({
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval,
  // 0 = unlimited: a mutation or compensation that cannot finish needs an operator, not a silent give-up.
  ...(maximumAttempts > 0 ? { maximumAttempts } : {}),
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

/** Lookups, local: cheap, so a few quick retries, then the run fails with the reason. */
export const read = proxyLocalActivities<NeonActivities>({ startToCloseTimeout: '30 seconds', retry: retry(10) });

/**
 * Neon mutations: idempotent (found by name or lineage before sending), so retried until they succeed. Each waits for
 * its own operations before it returns (src/activities/neon/operations.ts `settling`): as long as they may take,
 * heartbeating all along, so a killed worker is still noticed in seconds.
 */
export const mutation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

/**
 * Deletes (what a run made and no longer needs: compensations, retired helpers, previews, the janitor's and the plan's
 * room-making), waiting for their own operations like every mutation. Unlike other mutations, a delete whose operation
 * failed is sent again: Neon leaves the resource in place after a failed delete, and a delete of what is gone is done
 * (a 404 counts as deleted). Unlimited retries: a clean-up must finish, and one that cannot needs an operator.
 */
export const cleanup = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES.filter((type) => type !== 'OperationFailed'),
  },
});

/** Checks: a dropped connection right after a restore is worth a few retries; a failing check is an answer. */
export const verification = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(5, '5 seconds'),
});

/**
 * SQL on prod as normal activities: migrations, and a read whose answer must be on record before the next step
 * changes what it reads (the write position before the fence). A local activity's result is recorded only when its
 * workflow task completes, so a worker killed during a later local activity of the same task (the fence) would re-run
 * the read too, and it would then see the fence as prod's own setting.
 */
export const databaseWrites = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(10, '5 seconds'),
});

/** The fence and the write positions after it, local: SQL on prod, retried a few times on a dropped connection. */
export const writes = proxyLocalActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  retry: retry(10, '5 seconds'),
});

/** Copying late writes reads and writes whole tables: long, heartbeated, retried after a lost race. */
export const reconciliation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(5),
});

/** Compensations must finish: unlimited retries, idempotent by design (a 404 on delete counts as done). */
export const compensation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});
