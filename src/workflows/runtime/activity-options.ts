/**
 * Every activity the workflows call, as they call it: one option set per kind of call, each with its timeouts and
 * retry policy, declared here and nowhere else (no other workflow file calls proxyActivities). Each set is typed with
 * the activities it is meant for, so a call through the wrong set does not compile. Activities are imported as types
 * only: the worker runs them.
 *
 * Every set of normal activities has a heartbeat timeout: the worker heartbeats for activities that do not
 * (src/worker/heartbeat.ts), so a killed worker's activity is retried within seconds instead of after its whole
 * start-to-close timeout.
 *
 * Short steps run as local activities: in the worker that runs the workflow task, results recorded as markers, with no
 * activity task through the server and no workflow task after each one (a promotion's plan and write guard: about six
 * fewer hand-offs). The trade-offs, and why these steps only: a local activity has no heartbeat (a dead worker is
 * noticed when its workflow task times out, 10 s, instead of the 5 s heartbeat timeout), retries within the worker
 * (backoffs over a minute become timers), and holds its workflow task open while it runs. Its result is on record only
 * once that task completes: a worker killed in the middle re-runs every local activity of the task, so a step may be
 * local only if running it again after the later ones changed things gives the same decision (reads, idempotent
 * writes; see `databaseWrites` for the read that is not). So: lookups (a few Neon reads, seconds at most) and the write
 * guard's SQL (the fence and the write positions after it: a session on prod, seconds). Mutations (minutes, with the
 * operations they wait for), checks, fingerprints, migrations, copies and compensations stay activities.
 */
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type {
  AdmissionActivities,
  BaselineActivities,
  ExplainActivities,
  HealthActivities,
  NeonActivities,
  NotifyActivities,
  PreviewListingActivities,
  RunActivities,
  VerificationActivities,
  WriteActivities,
} from '../../activities/contract';
import { NON_RETRYABLE_ERROR_TYPES, NOTIFY_FAILURE_TYPES } from '../../shared/failure-types';

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

// ---- Neon ----------------------------------------------------------------------------------------------------------

/** Lookups, local: cheap, so a few quick retries, then the run fails with the reason. */
export const neonReads = proxyLocalActivities<
  Pick<NeonActivities, 'resolveEnvironment' | 'getBranch' | 'compareSchema'> & ExplainActivities
>({ startToCloseTimeout: '30 seconds', retry: retry(10) });

/**
 * Neon mutations: idempotent (found by name or lineage before sending), so retried until they succeed. Each waits for
 * its own operations before it returns (src/activities/neon/operations.ts `settling`): as long as they may take,
 * heartbeating all along, so a killed worker is still noticed in seconds. A failed operation stops the step: a
 * forward step is not sent again over it.
 */
export const neonMutations = proxyActivities<
  Pick<
    NeonActivities,
    | 'ensureSnapshot'
    | 'updateSnapshot'
    | 'restoreSnapshot'
    | 'finalizeRestore'
    | 'resetBranch'
    | 'createBranch'
    | 'updateBranch'
    | 'protectBranch'
    | 'retireBackup'
    | 'createEndpoint'
  >
>({ startToCloseTimeout: '15 minutes', heartbeatTimeout: '5 seconds', retry: retry(0) });

/**
 * Deletes of what a run made and no longer needs (compensations, helpers, previews, the janitor's and the plan's
 * room-making), waiting for their own operations like every mutation, and a swap's whole clean-up (cleanUpSwap: its
 * deletes, the fork point's rename, the backup's expiry). Unlike other mutations, a delete whose operation failed is
 * sent again, with pauses of 1 s, 2 s, 4 s ... up to 30 s: Neon leaves the resource in place after a failed delete,
 * and a delete of what is gone is done (a 404 counts as deleted). No attempt limit for faults on the way (a clean-up
 * must finish); an operation that fails six times is final, and the activity says so itself
 * (SENDS_AFTER_FAILED_OPERATION in src/activities/neon/operations.ts).
 */
export const cleanup = proxyActivities<
  Pick<NeonActivities, 'deleteSnapshot' | 'deleteBranch' | 'deleteEndpoint' | 'cleanUpSwap'>
>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES.filter((type) => type !== 'OperationFailed'),
  },
});

/**
 * Short calls that undo or find out what happened while a run fails (lifting the fence, whether a swap took place):
 * they must finish, so unlimited retries; each is idempotent.
 */
export const compensations = proxyActivities<Pick<NeonActivities, 'getBranch'> & Pick<WriteActivities, 'liftFence'>>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

// ---- SQL on branches -----------------------------------------------------------------------------------------------

/**
 * Checks and fingerprints: a dropped connection right after a restore is worth a few retries; a failing check is an
 * answer.
 */
export const branchChecks = proxyActivities<VerificationActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(5, '5 seconds'),
});

/**
 * SQL on prod as normal activities: migrations, and a read whose answer must be on record before the next step
 * changes what it reads (the write position before the fence). A local activity's result is recorded only when its
 * workflow task completes, so a worker killed during a later local activity of the same task (the fence) would re-run
 * the read too, and it would then see the fence as prod's own setting. Also the lifts that are no compensation: of a
 * fence an earlier run left, of one a refresh copied onto dev, and the operator's `unfence`.
 */
export const databaseWrites = proxyActivities<
  Pick<WriteActivities, 'recordWritePosition' | 'planMigrations' | 'applyMigration' | 'liftFence'>
>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '5 seconds', retry: retry(10, '5 seconds') });

/** The fence and the write positions after it, local: SQL on prod, retried a few times on a dropped connection. */
export const writeGuardSteps = proxyLocalActivities<Pick<WriteActivities, 'recordWritePosition' | 'fenceWrites'>>({
  startToCloseTimeout: '5 minutes',
  retry: retry(10, '5 seconds'),
});

/**
 * Counting prod's writes since the fork and carrying them read whole tables (streamed): long, heartbeated, retried
 * after a lost race.
 */
export const reconciliation = proxyActivities<Pick<WriteActivities, 'reconcileLateWrites' | 'diffSinceFork'>>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(5),
});

// ---- Temporal ------------------------------------------------------------------------------------------------------

/**
 * Reads visibility and one finished run's result. A list that is behind (VisibilityBehind) is asked again for about
 * half a minute before the run fails.
 */
export const baselineReads = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '10 seconds',
  retry: retry(10, '5 seconds'),
});

/** The project's previews: a few quick retries, then the list fails with the reason (the caller asks again). */
export const previewListing = proxyActivities<PreviewListingActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '10 seconds',
  retry: retry(5, '10 seconds'),
});

/**
 * A direct run's submission to its coordinator: a quick call, retried while the coordinator continues as new or still
 * lists an earlier execution.
 */
export const admission = proxyActivities<Pick<AdmissionActivities, 'admitExternalRun'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['InvalidInput'] },
});

/**
 * A queued run's check that its coordinator still lists it (or its submission again): retried while the coordinator
 * is busy.
 */
export const admissionChecks = proxyActivities<Pick<AdmissionActivities, 'ensureAdmitted'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * The coordinator's wait for an external run to close lasts as long as the run (approval can take days); a retry after
 * the start-to-close timeout just waits again. The worker's interceptor heartbeats, so a lost worker is noticed.
 */
export const externalRuns = proxyActivities<Pick<AdmissionActivities, 'awaitExternalRun'>>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * The coordinator's look-up of the project's open runs (one visibility list), and its lift of the fence a run that
 * ended left on prod: retried a few times, then the coordinator goes on (with what it was submitted; the fence is
 * then the next promotion's to lift, or the operator's).
 */
export const recovery = proxyActivities<Pick<AdmissionActivities, 'openRunsOf'> & Pick<WriteActivities, 'liftFence'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/**
 * A scheduled firing's submission (or cancellation) of its run: quick calls; retries cover a coordinator that is
 * continuing as new.
 */
export const runs = proxyActivities<Pick<RunActivities, 'submitRun' | 'cancelRun'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: ['InvalidInput'] },
});

/**
 * A scheduled firing's wait for its run lasts as long as the run (a refresh queued behind a promotion that awaits
 * approval: up to days).
 */
export const runWaits = proxyActivities<Pick<RunActivities, 'awaitRun'>>({
  startToCloseTimeout: '31 days',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

// ---- notifications and health --------------------------------------------------------------------------------------

/** Whether the worker has a webhook of its own: local, a lookup of the worker's settings. */
export const webhookConfig = proxyLocalActivities<Pick<NotifyActivities, 'workerWebhook'>>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * One webhook delivery, retried for up to a day (the request itself times out after 10 s); a rejected request or a
 * worker without a secret is not retried.
 */
export const notifications = proxyActivities<Pick<NotifyActivities, 'notify'>>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: NOTIFY_FAILURE_TYPES.filter((type) => type !== 'WebhookUnavailable'),
  },
});

/** The health check's round trip: short, a few attempts. */
export const health = proxyActivities<HealthActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});
