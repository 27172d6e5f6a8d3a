/**
 * The Neon activities as workflows call them: one option set per kind of call, declared once. Every set has a
 * heartbeat timeout: the worker heartbeats for activities that do not (src/worker.ts), so a killed worker's activity is
 * retried within seconds instead of after its whole start-to-close timeout.
 */
import { patched, proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { ExplainActivities, NeonActivities as NeonOnly, WriteActivities } from '../../activities/types';
import { NON_RETRYABLE_ERROR_TYPES } from '../../shared/failure-types';

/** What workflows call: the Neon activities, issue 7's write-safety ones and the checks' EXPLAIN (one worker). */
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

/**
 * Patch marking runs whose short steps run as local activities: in the worker that runs the workflow task, results
 * recorded as markers, with no activity task through the server and no workflow task after each one (a promotion's
 * plan and write guard: ~6 fewer hand-offs). Histories recorded before it replay with activity tasks.
 *
 * The trade-offs, and why these steps only: a local activity has no heartbeat (a dead worker is noticed when its
 * workflow task times out, 10 s, instead of the 5 s heartbeat timeout), retries within the worker (backoffs over a
 * minute become timers), and holds its workflow task open while it runs. Its result is on record only once that
 * task completes: a worker killed in the middle re-runs every local activity of the task, so a step may be local
 * only if running it again after the later ones changed things gives the same decision (reads, idempotent writes;
 * see `durableWrites` for the read that is not). So: lookups (a few Neon reads, seconds at most) and the write
 * guard's SQL (fence, write positions after it: a session on prod, seconds). Mutations and their operation waits
 * (minutes), checks, fingerprints, migrations, copies and compensations stay activities.
 */
export const LOCAL_SHORT_STEPS = 'local-short-steps';

const SHORT_STEPS: ReadonlySet<string> = new Set([
  'resolveEnvironment',
  'compareSchema',
  'explainChecks',
  'getBranch',
  'recordWritePosition',
  'fenceWrites',
]);

/** `remote` as the workflows call it, except that in a run with LOCAL_SHORT_STEPS the short steps go through `local`. */
function shortStepsLocal(remote: NeonActivities, local: NeonActivities): NeonActivities {
  return routedWhenPatched(LOCAL_SHORT_STEPS, SHORT_STEPS, remote, local);
}

type AnyActivity = (input: object) => Promise<unknown>;

/** Lookups: cheap, so a few quick retries, then the run fails with the reason. */
export const read = shortStepsLocal(
  proxyActivities<NeonActivities>({
    startToCloseTimeout: '30 seconds',
    heartbeatTimeout: '5 seconds',
    retry: retry(10),
  }),
  proxyLocalActivities<NeonActivities>({ startToCloseTimeout: '30 seconds', retry: retry(10) }),
);

/** Neon mutations as histories before SETTLE_IN_ACTIVITY recorded them: the wait was a separate activity. */
const mutationOnly = proxyActivities<NeonActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

/**
 * Neon mutations that wait for their own operations before they return (src/activities/neon/operations.ts `settling`):
 * as long as the operations may take, heartbeating all along, so a killed worker is still noticed in seconds.
 */
const mutationAndWait = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

/**
 * Patch marking runs whose mutations wait for their own operations: one activity per mutation instead of two, so a
 * promotion makes about half as many activity hand-offs (each a Temporal round trip). Histories recorded before it
 * (test/histories/) replay with the separate waitForOperations activities.
 */
export const SETTLE_IN_ACTIVITY = 'settle-in-activity';

/** The activities that accept `waitForOperations: true` (the ones src/activities wraps with `settling`). */
const SETTLES_ITSELF: ReadonlySet<string> = new Set([
  'ensureSnapshot',
  'deleteSnapshot',
  'restoreSnapshot',
  'finalizeRestore',
  'resetBranch',
  'createBranch',
  'updateBranch',
  'renameBranch',
  'protectBranch',
  'setBranchExpiry',
  'deleteBranch',
  'createEndpoint',
  'deleteEndpoint',
]);

/**
 * `plain` as the workflows call it, except that in a run with SETTLE_IN_ACTIVITY the mutations go through `waiting`
 * with `waitForOperations: true`: their results then carry `operationsSettled`, and `settle` has nothing left to do.
 */
function settlingInActivity(plain: NeonActivities, waiting: NeonActivities): NeonActivities {
  return routedWhenPatched(SETTLE_IN_ACTIVITY, SETTLES_ITSELF, plain, waiting, (input) => ({
    ...input,
    waitForOperations: true,
  }));
}

/**
 * `before` as the workflows call it, except that the activities in `names` go through `after` (with the input
 * adapted) in a run that has the patch `patchId`. patched() is asked at each call, as the run reaches it, so a run
 * recorded before the patch replays with `before`.
 */
function routedWhenPatched(
  patchId: string,
  names: ReadonlySet<string>,
  before: NeonActivities,
  after: NeonActivities,
  adapt: (input: object) => object = (input) => input,
): NeonActivities {
  return new Proxy(before, {
    get(target, name, receiver) {
      const direct = Reflect.get(target, name, receiver) as unknown;
      if (typeof name !== 'string' || !names.has(name)) return direct;
      return (input: object) =>
        patched(patchId) ? (Reflect.get(after, name) as AnyActivity)(adapt(input)) : (direct as AnyActivity)(input);
    },
  });
}

/** Neon mutations: idempotent (found by name or lineage before sending), so retried until they succeed. */
export const mutation = settlingInActivity(mutationOnly, mutationAndWait);

/** The operation wait heartbeats itself with its progress, and resumes from it on retry. */
export const operations = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(0),
});

/** Checks: a dropped connection right after a restore is worth a few retries; a failing check is an answer. */
export const verification = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(5, '5 seconds'),
});

/**
 * Write positions, the fence and migrations, as activities whatever the patches: for a read whose answer must be on
 * record before the next step changes what it reads. A local activity's result is recorded only when its workflow
 * task completes, so a worker killed during a later local activity of the same task (the fence) re-runs the read
 * too, and it would then see the fence as prod's own setting.
 */
export const durableWrites = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(10, '5 seconds'),
});

/** Write positions, the fence and migrations: SQL on prod, retried a few times on a dropped connection. */
export const writes = shortStepsLocal(
  durableWrites,
  proxyLocalActivities<NeonActivities>({ startToCloseTimeout: '5 minutes', retry: retry(10, '5 seconds') }),
);

/** Copying late writes reads and writes whole tables: long, heartbeated, retried after a lost race. */
export const reconciliation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(5),
});

/** Compensations must finish: unlimited retries, idempotent by design (a 404 on delete counts as done). */
export const compensation = settlingInActivity(
  proxyActivities<NeonActivities>({
    startToCloseTimeout: '60 seconds',
    heartbeatTimeout: '5 seconds',
    retry: retry(0),
  }),
  mutationAndWait,
);

/** Waits for what a mutation started; no activity at all when it started nothing or waited itself. */
export async function settle(
  projectId: string,
  result: { operationIds: string[]; operationsSettled?: boolean },
  via: Pick<NeonActivities, 'waitForOperations'> = operations,
): Promise<void> {
  if (result.operationIds.length > 0 && !result.operationsSettled)
    await via.waitForOperations({ projectId, operationIds: result.operationIds, maxPollIntervalMs: 2000 });
}
