/**
 * What activities throw: ApplicationFailures of a stable `type`, with one `details[0]` shape. The lists of types live
 * in src/shared/failure-types.ts, which workflow code imports for its retry policies.
 */
import type {
  NON_RETRYABLE_FAILURE_TYPES,
  NOTIFY_FAILURE_TYPES,
  WRITE_FAILURE_TYPES,
} from '../../shared/failure-types';
import type { VerifyBranchResult, WriteComparison } from './database';

/** Neon API, verification and input failures that no retry can fix. */
export type NonRetryableFailureType = (typeof NON_RETRYABLE_FAILURE_TYPES)[number];

/** Write safety and migrations; all but ReconcileFailed are non-retryable. */
export type WriteFailureType = (typeof WRITE_FAILURE_TYPES)[number];

/** Webhook delivery; only WebhookUnavailable is retried. */
export type NotifyFailureType = (typeof NOTIFY_FAILURE_TYPES)[number];

/** `type` of the ApplicationFailures the Neon and database activities throw. */
export type ActivityFailureType =
  | NonRetryableFailureType
  | 'NeonLocked'
  | 'NeonRateLimited'
  | 'NeonUnavailable'
  | 'DatabaseUnreachable'
  | WriteFailureType;

/** `details[0]` of every ApplicationFailure an activity throws. */
export type FailureDetails = {
  status?: number;
  code?: string;
  requestId?: string;
  /** For OperationFailed. */
  operationId?: string;
  /** For VerificationFailed. */
  verification?: VerifyBranchResult;
  /** For InvalidInput: the path of the offending field, e.g. "checks.0.sql". */
  field?: string;
  /** For WritesDetected. */
  writes?: WriteComparison;
  /** For ReconcileConflict: per table, how many keys conflict and a few of them. */
  conflicts?: { table: string; count: number; sampleKeys: string[] }[];
  /**
   * For ReconcileSchemaConflict: what prod wrote since the base that dev's schema has no place for, e.g. column
   * "legacy" of "items" "dropped on dev", or a whole table (column null).
   */
  schemaConflicts?: { table: string; column: string | null; problem: string }[];
  /** For MigrationFailed and LedgerDiverged. */
  migrationId?: string;
};
