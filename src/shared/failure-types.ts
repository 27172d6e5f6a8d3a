/**
 * The ApplicationFailure types activities throw, listed once for the activities (which mark their failures
 * non-retryable by these lists) and the workflows (whose retry policies name them in nonRetryableErrorTypes). No I/O,
 * so workflow code may import it. The types and `details` they go with: src/activities/contract/failures.ts.
 */

/** Neon API, verification and input failures that retrying cannot fix. */
export const NON_RETRYABLE_FAILURE_TYPES = [
  'NeonNotFound',
  'NeonQuotaExceeded',
  'NeonBadRequest',
  'NeonConflict',
  'NeonUnauthorized',
  'NeonSchemaMismatch',
  'OperationFailed',
  'VerificationFailed',
  'InvalidInput',
  'CheckRoleUnsafe',
] as const;

/**
 * Write safety and migrations. Each is marked non-retryable on the failure itself, except ReconcileFailed: a reconcile
 * that lost a race with prod's traffic reads the new state and decides again on retry.
 */
export const WRITE_FAILURE_TYPES = [
  'WritesDetected',
  'DetectionFailed',
  'FenceFailed',
  'ReconcileConflict',
  'ReconcileSchemaConflict',
  'ReconcileFailed',
  'MigrationFailed',
  'LedgerDiverged',
] as const;

/** Webhook delivery: retrying cannot fix a rejected request or a worker without a secret; an unavailable one can. */
export const NOTIFY_FAILURE_TYPES = ['WebhookRejected', 'WebhookNotConfigured', 'WebhookUnavailable'] as const;

/**
 * How many times a mutation is sent while its Neon operation keeps failing, where sending it again is safe (deletes,
 * src/activities/neon/operations.ts; the restore that rolls prod back, src/workflows/steps/restore.ts): a failed
 * operation leaves the project as it was, and one that fails this often is Neon's answer, not a passing fault.
 */
export const SENDS_AFTER_FAILED_OPERATION = 6;

/** What workflows put in `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ...NON_RETRYABLE_FAILURE_TYPES,
  ...WRITE_FAILURE_TYPES.filter((t) => t !== 'ReconcileFailed'),
];

/**
 * Refusals: the run ended before it changed anything at Neon, and the caller can fix the cause and run again. A run
 * failing with one of these reads "refused" (its outcome, the UI, `runs`, the CLI's exit code 4), not failed.
 */
export const REFUSALS: ReadonlySet<string> = new Set([
  'Refused',
  'ProjectBusy',
  'BranchMissing',
  'SameBranch',
  'NoEndpoint',
  'SnapshotQuota',
  'RootBranchLimit',
  'SnapshotMissing',
  'SnapshotAmbiguous',
  'NotARootBranch',
  'NotAPreview',
  'UnpromotedChanges',
  'WritesDetected',
  'OwnerReadOnly',
  'ResetUnavailable',
]);
