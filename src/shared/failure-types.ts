/**
 * ApplicationFailure types that retrying cannot fix. One list for the activities (which mark their failures with it)
 * and the workflows (whose retry policies name it in nonRetryableErrorTypes); no I/O, so workflow code may import it.
 */

/** Neon API, verification and input failures. */
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
] as const;

/** Issue 7's write-safety failures; ReconcileFailed (a reconcile that lost a race with prod's traffic) is retried. */
export const WRITE_FAILURE_TYPES = [
  'WritesDetected',
  'DetectionFailed',
  'FenceFailed',
  'ReconcileConflict',
  'ReconcileFailed',
  'MigrationFailed',
  'LedgerDiverged',
] as const;

/** What workflows put in `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ...NON_RETRYABLE_FAILURE_TYPES,
  ...WRITE_FAILURE_TYPES.filter((t) => t !== 'ReconcileFailed'),
];
