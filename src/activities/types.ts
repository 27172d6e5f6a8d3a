/**
 * Inputs and outputs of every activity. Plain JSON only: IDs, names, ISO timestamps and counts. Never an API key,
 * a password or a connection string, because all of these end up in workflow history.
 *
 * Workflows `import type` from here; the implementations live next to this file.
 */

import { NON_RETRYABLE_FAILURE_TYPES as SHARED_NON_RETRYABLE } from '../shared/failure-types';
import type {
  ApplyMigrationInput,
  ApplyMigrationResult,
  FenceWritesInput,
  FenceWritesResult,
  LiftFenceInput,
  LiftFenceResult,
  MigrationPlan,
  PlanMigrationsInput,
  ReconcileInput,
  ReconcileResult,
  RecordWritePositionInput,
  RecordWritePositionResult,
  WriteComparison,
  WriteFailureType,
} from './database/writes/types';

/** ISO 8601 timestamp, e.g. "2025-01-17T10:00:00Z". */
export type IsoTimestamp = string;

export type EndpointInfo = {
  id: string;
  branchId: string;
  type: 'read_write' | 'read_only';
  currentState: string;
};

export type BranchInfo = {
  id: string;
  name: string;
  parentId: string | null;
  default: boolean;
  protected: boolean;
  currentState: string;
  createdAt: IsoTimestamp;
  expiresAt: IsoTimestamp | null;
  /** Snapshot this branch was restored from (Neon's `restored_from`). */
  restoredFrom: string | null;
  /** Branch this one replaced or was restored in place of (Neon's `restored_as`). */
  restoredAs: string | null;
  /** `restored`, `finalized`, `detaching`, or null for branches not made by a snapshot restore. */
  restoreStatus: string | null;
};

export type BranchWithEndpoints = BranchInfo & { endpoints: EndpointInfo[] };

export type SnapshotInfo = {
  id: string;
  name: string;
  sourceBranchId: string | null;
  createdAt: IsoTimestamp;
  expiresAt: IsoTimestamp | null;
  lsn: string | null;
  timestamp: IsoTimestamp | null;
};

/** What a mutation started at Neon: poll these with `waitForOperations` before relying on the new state. */
export type MutationResult = { operationIds: string[] };

// ---- environment -------------------------------------------------------------------------------------------------

export type ResolveEnvironmentInput = { projectId: string; prodBranchName: string; devBranchName: string };

export type ResolveEnvironmentResult = {
  projectId: string;
  /** null when no branch has that name (the workflow decides whether that is an error). */
  prod: BranchWithEndpoints | null;
  dev: BranchWithEndpoints | null;
  /** All branches of the project, without endpoints, e.g. to find "(old)" backups and previews. */
  branches: BranchInfo[];
  snapshots: SnapshotInfo[];
  /** The plan's snapshot limit as configured for the worker (Neon does not report it); null when unknown. */
  snapshotLimit: number | null;
  /** snapshotLimit - snapshots.length, or null when the limit is unknown. */
  freeSnapshotSlots: number | null;
};

// ---- branches and endpoints --------------------------------------------------------------------------------------

export type GetBranchInput = { projectId: string } & ({ branchId: string } | { branchName: string });

export type ListBranchesInput = { projectId: string };

export type CreateBranchInput = {
  projectId: string;
  /** Deterministic name: a second run finds the branch by this name instead of creating another. */
  name: string;
  parentId: string;
  expiresAt?: IsoTimestamp;
  protected?: boolean;
  /** Create a compute endpoint with the branch (default none). */
  endpointType?: 'read_write' | 'read_only';
};

export type CreateBranchResult = MutationResult & { branch: BranchWithEndpoints; created: boolean };

export type UpdateBranchInput = {
  projectId: string;
  branchId: string;
  name?: string;
  protected?: boolean;
  /** null removes the expiry. */
  expiresAt?: IsoTimestamp | null;
};

export type RenameBranchInput = { projectId: string; branchId: string; name: string };
export type ProtectBranchInput = { projectId: string; branchId: string; protected: boolean };
export type SetBranchExpiryInput = { projectId: string; branchId: string; expiresAt: IsoTimestamp | null };

/** `changed` is false when the branch already had the requested values and no request was sent. */
export type UpdateBranchResult = MutationResult & { branch: BranchInfo; changed: boolean };

export type DeleteBranchInput = { projectId: string; branchId: string };

/** `deleted` is false when it was already gone (a 404 counts as done). */
export type DeleteResult = MutationResult & { deleted: boolean };

export type CreateEndpointInput = { projectId: string; branchId: string; type: 'read_write' | 'read_only' };

/** A branch has at most one read-write endpoint, so an existing one of that type is returned as is. */
export type CreateEndpointResult = MutationResult & { endpoint: EndpointInfo; created: boolean };

export type DeleteEndpointInput = { projectId: string; endpointId: string };

// ---- snapshots ---------------------------------------------------------------------------------------------------

export type ListSnapshotsInput = { projectId: string };

export type EnsureSnapshotInput = {
  projectId: string;
  branchId: string;
  /** Deterministic, unique in the project (e.g. derived from workflow ID and step): found by name before creating. */
  name: string;
  expiresAt?: IsoTimestamp;
  /** Point in time to snapshot instead of the head (at most one of lsn, timestamp). */
  lsn?: string;
  timestamp?: IsoTimestamp;
};

export type EnsureSnapshotResult = MutationResult & { snapshot: SnapshotInfo; created: boolean };

export type UpdateSnapshotInput = { projectId: string; snapshotId: string; name: string };
export type UpdateSnapshotResult = { snapshot: SnapshotInfo; changed: boolean };

export type DeleteSnapshotInput = { projectId: string; snapshotId: string };

// ---- restore -----------------------------------------------------------------------------------------------------

export type RestoreSnapshotInput = {
  projectId: string;
  snapshotId: string;
  /** Always explicit: without it Neon restores onto the snapshot's source branch, which may be an "(old)" backup. */
  targetBranchId: string;
  /** true swaps the restored branch in for the target at once; false leaves it as a preview branch. */
  finalize: boolean;
  /** Name of the restored (preview) branch. */
  name?: string;
};

export type RestoreSnapshotResult = MutationResult & {
  /** The branch holding the snapshot's data (a new ID). After finalize it carries the target's name and endpoints. */
  branch: BranchWithEndpoints;
  /** true when lineage showed an earlier attempt already restored it, so nothing was sent. */
  alreadyDone: boolean;
};

export type FinalizeRestoreInput = {
  projectId: string;
  /** The preview branch created by `restoreSnapshot({ finalize: false })`. */
  branchId: string;
  /** New name for the replaced branch (Neon's default is "<name> (old)"). */
  oldBranchName?: string;
};

export type FinalizeRestoreResult = MutationResult & {
  /** The finalized branch: same ID as before; it takes the replaced branch's name and endpoints once the operations finish. */
  branchId: string;
  /** ID of the branch that was replaced (it keeps its ID and gets the old name), from lineage. */
  replacedBranchId: string | null;
  alreadyDone: boolean;
};

export type ResetBranchInput = {
  projectId: string;
  /** Reset to its parent's head; it keeps its ID, endpoints and connection strings. */
  branchId: string;
  /** A reset at or after this instant (Neon's `last_reset_at`) is an earlier attempt's: not sent again. */
  resetAfter?: IsoTimestamp;
  /** Keep the data before the reset as a new branch of this name (Neon requires it when the branch has children). */
  preserveUnderName?: string;
};

export type ResetBranchResult = MutationResult & {
  branch: BranchInfo;
  /** Neon's `last_reset_at` after the reset (null if Neon did not report it). */
  resetAt: IsoTimestamp | null;
  /** true when `last_reset_at` (or the preserved branch) showed an earlier attempt already reset it. */
  alreadyDone: boolean;
};

// ---- operations --------------------------------------------------------------------------------------------------

export type WaitForOperationsInput = {
  projectId: string;
  operationIds: string[];
  /** Upper bound of the growing poll interval (default 3000 ms). */
  maxPollIntervalMs?: number;
};

export type OperationSummary = { id: string; action: string; status: string; totalDurationMs: number };

export type WaitForOperationsResult = { operations: OperationSummary[]; polls: number };

// ---- schema ------------------------------------------------------------------------------------------------------

export type CompareSchemaInput = { projectId: string; branchId: string; baseBranchId: string; databaseName: string };

export type CompareSchemaResult = {
  identical: boolean;
  /** Unified diff from base to branch, cut to keep workflow history small. */
  diff: string;
  truncated: boolean;
};

// ---- verification ------------------------------------------------------------------------------------------------

export type Comparison = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

/** A SQL query run read-only; each `expect` field that is set must hold. */
export type SqlCheck = {
  kind: 'sql';
  name?: string;
  sql: string;
  expect: {
    /** Exact number of rows, or a comparison with it. */
    rowCount?: number | { op: Comparison; value: number };
    /** The first column of the first row equals this (compared as strings when types differ). */
    value?: string | number | boolean | null;
    /** The first column of the first row, as a number, compared with `value`. */
    compare?: { op: Comparison; value: number };
  };
};

export type TablesExistCheck = { kind: 'tablesExist'; name?: string; tables: string[] };

export type HttpCheck = {
  kind: 'http';
  name?: string;
  url: string;
  /** Default: any 2xx. */
  expectStatus?: number;
  bodyIncludes?: string;
  timeoutMs?: number;
};

export type VerificationCheck = SqlCheck | TablesExistCheck | HttpCheck;

export type VerifyBranchInput = {
  projectId: string;
  branchId: string;
  /** Defaults to the branch's read-write endpoint. */
  endpointId?: string;
  databaseName: string;
  roleName: string;
  checks: VerificationCheck[];
  /** Per SQL statement (default 10 000 ms). */
  statementTimeoutMs?: number;
  /** Fail the activity with a non-retryable VerificationFailed instead of returning `ok: false`. */
  throwOnFailure?: boolean;
};

export type CheckResult = { name: string; kind: VerificationCheck['kind']; ok: boolean; detail: string };

export type VerifyBranchResult = {
  ok: boolean;
  checks: CheckResult[];
  /** Name of the first failed check, or null. */
  failedCheck: string | null;
  durationMs: number;
};

// ---- data fingerprint --------------------------------------------------------------------------------------------

export type FingerprintBranchInput = {
  projectId: string;
  branchId: string;
  /** Defaults to the branch's read-write endpoint. */
  endpointId?: string;
  databaseName: string;
  roleName: string;
  /** Schemas whose tables are fingerprinted (default ["public"]). */
  schemas?: string[];
  /** Per statement, i.e. per table (default 60 000 ms). */
  statementTimeoutMs?: number;
};

/** `hash`: md5 over the sorted md5s of the rows' text, so row order does not matter. */
export type TableFingerprint = { table: string; rows: number; hash: string };

export type FingerprintBranchResult = {
  branchId: string;
  schemas: string[];
  /** Sorted by name. */
  tables: TableFingerprint[];
  /** sha256 over every table's name, row count and hash: equal hashes mean equal data. */
  hash: string;
};

// ---- failures ----------------------------------------------------------------------------------------------------

/** `type` of the ApplicationFailures activities throw. */
export type ActivityFailureType =
  | 'NeonNotFound'
  | 'NeonQuotaExceeded'
  | 'NeonLocked'
  | 'NeonRateLimited'
  | 'NeonUnavailable'
  | 'NeonBadRequest'
  | 'NeonConflict'
  | 'NeonUnauthorized'
  | 'NeonSchemaMismatch'
  | 'OperationFailed'
  | 'VerificationFailed'
  | 'DatabaseUnreachable'
  | 'InvalidInput'
  | WriteFailureType;

/**
 * Failure types that no retry can fix. Workflows list them in `nonRetryableErrorTypes` (activities already mark
 * them non-retryable; the list protects against a failure raised outside the mapping).
 */
export const NON_RETRYABLE_FAILURE_TYPES = SHARED_NON_RETRYABLE satisfies readonly ActivityFailureType[];

export type NonRetryableFailureType = (typeof NON_RETRYABLE_FAILURE_TYPES)[number];

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
  /** For MigrationFailed and LedgerDiverged. */
  migrationId?: string;
};

// ---- the contract ------------------------------------------------------------------------------------------------

/**
 * Every activity `createActivities` returns. Each is safe to run again after a crash or a lost response: a second run
 * finds what the first one made (by deterministic name or by restore lineage) and returns it.
 */
export type NeonActivities = {
  resolveEnvironment: (input: ResolveEnvironmentInput) => Promise<ResolveEnvironmentResult>;
  getBranch: (input: GetBranchInput) => Promise<BranchWithEndpoints | null>;
  listBranches: (input: ListBranchesInput) => Promise<BranchInfo[]>;
  createBranch: (input: CreateBranchInput) => Promise<CreateBranchResult>;
  updateBranch: (input: UpdateBranchInput) => Promise<UpdateBranchResult>;
  renameBranch: (input: RenameBranchInput) => Promise<UpdateBranchResult>;
  protectBranch: (input: ProtectBranchInput) => Promise<UpdateBranchResult>;
  setBranchExpiry: (input: SetBranchExpiryInput) => Promise<UpdateBranchResult>;
  deleteBranch: (input: DeleteBranchInput) => Promise<DeleteResult>;
  createEndpoint: (input: CreateEndpointInput) => Promise<CreateEndpointResult>;
  deleteEndpoint: (input: DeleteEndpointInput) => Promise<DeleteResult>;
  listSnapshots: (input: ListSnapshotsInput) => Promise<SnapshotInfo[]>;
  ensureSnapshot: (input: EnsureSnapshotInput) => Promise<EnsureSnapshotResult>;
  updateSnapshot: (input: UpdateSnapshotInput) => Promise<UpdateSnapshotResult>;
  deleteSnapshot: (input: DeleteSnapshotInput) => Promise<DeleteResult>;
  restoreSnapshot: (input: RestoreSnapshotInput) => Promise<RestoreSnapshotResult>;
  finalizeRestore: (input: FinalizeRestoreInput) => Promise<FinalizeRestoreResult>;
  resetBranch: (input: ResetBranchInput) => Promise<ResetBranchResult>;
  waitForOperations: (input: WaitForOperationsInput) => Promise<WaitForOperationsResult>;
  compareSchema: (input: CompareSchemaInput) => Promise<CompareSchemaResult>;
  verifyBranch: (input: VerifyBranchInput) => Promise<VerifyBranchResult>;
  fingerprintBranch: (input: FingerprintBranchInput) => Promise<FingerprintBranchResult>;
};

/** The write-safety activities of issue 7 (src/activities/writes, src/activities/migrations*.ts). */
export type WriteActivities = {
  recordWritePosition: (input: RecordWritePositionInput) => Promise<RecordWritePositionResult>;
  fenceWrites: (input: FenceWritesInput) => Promise<FenceWritesResult>;
  liftFence: (input: LiftFenceInput) => Promise<LiftFenceResult>;
  reconcileLateWrites: (input: ReconcileInput) => Promise<ReconcileResult>;
  planMigrations: (input: PlanMigrationsInput) => Promise<MigrationPlan>;
  applyMigration: (input: ApplyMigrationInput) => Promise<ApplyMigrationResult>;
};

export type * from './database/writes/types';

// ---- refreshDev's baseline (issue 5; src/activities/temporal/baseline.ts) -------------------------------------------------

/** The run whose recorded fingerprint says what dev held when its data was last promoted or refreshed. */
export type RefreshBaseline = {
  kind: 'last_promotion' | 'last_refresh';
  workflowId: string;
  runId: string;
  closedAt: string | null;
  /** promote's `candidateFingerprint` or refreshDev's `devFingerprint`; null when the run recorded none. */
  fingerprint: FingerprintBranchResult | null;
};

/** Activities that read Temporal (the worker's own client), not Neon. */
export type BaselineActivities = {
  findRefreshBaseline: (input: { projectId: string }) => Promise<RefreshBaseline | null>;
};

// ---- read-only checks before a run mutates (issue 8; src/activities/database/explain.ts) ------------------------------------

export type ExplainChecksInput = {
  projectId: string;
  /** The branch whose schema the checks are planned against (dev for a promotion, prod for a refresh or rollback). */
  branchId: string;
  endpointId?: string;
  databaseName: string;
  roleName: string;
  checks: VerificationCheck[];
  statementTimeoutMs?: number;
};

export type ExplainChecksResult = {
  /** The SQL checks that are not read-only queries, by index in `checks`, and why; empty when all are. */
  refused: { index: number; reason: string }[];
};

export type ExplainActivities = {
  explainChecks: (input: ExplainChecksInput) => Promise<ExplainChecksResult>;
};
