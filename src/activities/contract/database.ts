/**
 * The activities that run SQL (or HTTP checks) on a branch's database: verification, fingerprints, the EXPLAIN of
 * checks, write detection, the write fence, reconciliation of late writes, and migrations. Each fetches the
 * connection string itself and keeps it: inputs and results name the database, never a password.
 * Implementations: src/activities/database/.
 */
import type { IsoTimestamp } from './neon';

/** One database of one branch, reached as one role (through `endpointId`, or the branch's read-write endpoint). */
export type BranchDatabase = {
  projectId: string;
  branchId: string;
  endpointId?: string;
  databaseName: string;
  roleName: string;
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

/** `endpointId` defaults to the branch's read-write endpoint. */
export type VerifyBranchInput = BranchDatabase & {
  checks: VerificationCheck[];
  /** Per SQL statement (default 10 000 ms). */
  statementTimeoutMs?: number;
  /** Fail the activity with a non-retryable VerificationFailed instead of returning `ok: false`. */
  throwOnFailure?: boolean;
  /** Once every check passed, also the fingerprint of the branch's public schema (`fingerprintBranch`). */
  fingerprint?: boolean;
};

export type CheckResult = { name: string; kind: VerificationCheck['kind']; ok: boolean; detail: string };

export type VerifyBranchResult = {
  ok: boolean;
  checks: CheckResult[];
  /** Name of the first failed check, or null. */
  failedCheck: string | null;
  durationMs: number;
  /**
   * Asked for (`fingerprint`) and every check passed: the fingerprint, or null when it could not be read (a missing
   * fingerprint only makes later checks stricter, so it does not fail the verification).
   */
  fingerprint?: FingerprintBranchResult | null;
};

// ---- read-only checks before a run mutates -----------------------------------------------------------------------

/** `branchId`: the branch whose schema the checks are planned against (dev for a promotion, prod for a refresh or rollback). */
export type ExplainChecksInput = BranchDatabase & {
  checks: VerificationCheck[];
  statementTimeoutMs?: number;
  /** Refuse a check naming something the branch lacks (the checks run on this branch's schema). */
  refuseMissing?: boolean;
};

export type ExplainChecksResult = {
  /** The SQL checks that are not read-only queries, by index in `checks`, and why; empty when all are. */
  refused: { index: number; reason: string }[];
};

// ---- data fingerprint --------------------------------------------------------------------------------------------

/** `endpointId` defaults to the branch's read-write endpoint. */
export type FingerprintBranchInput = BranchDatabase & {
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

// ---- write detection ---------------------------------------------------------------------------------------------

/** The database a write-safety activity reads or fences. */
export type WriteTarget = BranchDatabase;

/** Cumulative counters of pg_stat_user_tables (n_tup_ins, n_tup_upd, n_tup_del, n_live_tup). */
export type TableWriteCounters = { inserts: number; updates: number; deletes: number; liveRows: number };

export type WritePosition = {
  branchId: string;
  /** pg_current_wal_lsn(). Per branch on Neon, cluster-wide in the emulator; moves for more than user writes. */
  lsn: string;
  /** Per user table, keyed "schema.table" (identifiers quoted only when they need it). */
  tables: Record<string, TableWriteCounters>;
  /** The database's clock when the counters were read. */
  at: IsoTimestamp;
  /** Client sessions of this database other than the activity's own when read (0: the counters were complete). */
  otherSessions: number;
  /** default_transaction_read_only is set on the database (a fence, or the owner's own configuration). */
  databaseReadOnly: boolean;
  /** More than 5000 user tables: the rest are not listed (and not compared). */
  tablesTruncated: boolean;
};

export type RecordWritePositionInput = WriteTarget & {
  /** An earlier position of the same branch: the result then carries the comparison with it. */
  since?: WritePosition;
  /** With `since`: throw WritesDetected (details.writes) when the comparison found writes or could not rule them out. */
  failOnWrites?: boolean;
};

export type RecordWritePositionResult = WritePosition & { comparison: WriteComparison | null };

export type TableWriteDelta = { inserts: number; updates: number; deletes: number };

export type WriteComparison = {
  /** Some table's counters moved, a table appeared or went away, or the counters cannot be trusted (`uncertain`). */
  writesDetected: boolean;
  /** Tables whose counters moved, with how much. Counts include rows of transactions that rolled back. */
  rowsChangedByTable: Record<string, TableWriteDelta>;
  /** Sum over rowsChangedByTable. */
  rowsChanged: number;
  /** null when the two positions are of different branches. */
  lsnAdvanced: boolean | null;
  tablesAdded: string[];
  tablesDropped: string[];
  /** Why the counters cannot settle the question (counters went backwards: stats reset or compute restart, ...). */
  uncertain: string[];
  /** No write can still be waiting to be counted: no other session was open at `after`, or both were fenced. */
  exact: boolean;
  /** Milliseconds between the two readings (database clock). */
  elapsedMs: number;
};

// ---- fence -------------------------------------------------------------------------------------------------------

export type FenceWritesInput = WriteTarget & {
  /** How long to wait for each ended session to exit (default 5000 ms). */
  terminateTimeoutMs?: number;
  /** Also read the write position once the fence is up, in the same session (`recordWritePosition`'s). */
  position?: boolean;
};

export type FenceWritesResult = {
  branchId: string;
  /** From here on, every session of the database starts read-only and none that started earlier is left. */
  fencedAt: IsoTimestamp;
  /**
   * The database was read-only by default before this call: a fence of ours (a retry of this call), or the owner's
   * setting, which is left as it is (no lift takes it away).
   */
  alreadyFenced: boolean;
  sessionsEnded: number;
  /** Sessions the role may not end (other roles, superusers): they keep writing if they could before. */
  remainingSessions: { role: string; count: number }[];
  /** Asked for (`position`): the write position read after `fencedAt`, the exact baseline of the write check. */
  position?: WritePosition;
};

/** Lifts only a fence of ours: default_transaction_read_only as fenceWrites spells it (see fence.ts). */
export type LiftFenceInput = {
  projectId: string;
  databaseName: string;
  roleName: string;
  endpointId?: string;
  /** Prod is resolved by name at the time of the lift, since a swap or rollback changes its ID. */
  branchId?: string;
  branchName?: string;
  /** End the other sessions when a fence was found: they all started read-only (default true). */
  endSessions?: boolean;
  /** When the fence went up (FenceWritesResult.fencedAt), for `fencedForMs`. */
  fencedAt?: IsoTimestamp;
};

export type LiftFenceResult = {
  /** The branch lifted, or null when it was not found. */
  branchId: string | null;
  /** A fence of ours was found and removed. */
  wasFenced: boolean;
  liftedAt: IsoTimestamp | null;
  fencedForMs: number | null;
  sessionsEnded: number;
  /** Why nothing was done: the branch is gone, or it has no read-write endpoint to connect to. */
  skipped: 'branch_not_found' | 'no_endpoint' | null;
  /**
   * The database is read-only by the owner's own setting, not by a fence of ours: left as it is. Always set by the
   * activity; optional since results in histories recorded before it have none.
   */
  ownerReadOnly?: boolean;
};

// ---- reconcile ---------------------------------------------------------------------------------------------------

/** `keep_prod`: the old prod's late write wins; `keep_dev`: the new prod's row stays; `fail`: change nothing. */
export type ConflictRule = 'keep_prod' | 'keep_dev' | 'fail';

export type ReconcileTable = {
  /** "table" or "schema.table"; must exist in source and target. */
  table: string;
  /** Columns of a primary key or unique index of the table. */
  key: string[];
  /** Without a base branch: rows whose value here is after `since` are the late writes. */
  timestampColumn?: string;
};

export type ReconcileInput = {
  projectId: string;
  databaseName: string;
  roleName: string;
  /**
   * Prod whose writes are carried: the replaced prod ("<prod> (old)") after the swap, or prod itself in a dry run
   * before it. Read in one read-only snapshot. Needs an endpoint.
   */
  sourceBranchId: string;
  sourceEndpointId?: string;
  /**
   * Prod as it was when the window opened (the rollback snapshot, or the fork point dev was made from): a branch
   * restored from the snapshot without finalize. Gives exact inserts/updates/deletes.
   */
  baseBranchId?: string;
  baseEndpointId?: string;
  /** Without a base: the rollback snapshot's time; needs `timestampColumn` on every table; deletes go unseen. */
  since?: IsoTimestamp;
  /** The new prod, or the candidate (dev's snapshot restored) in a dry run before the swap. */
  targetBranchId: string;
  targetEndpointId?: string;
  tables: ReconcileTable[];
  onConflict: ConflictRule;
  /**
   * Count and compare, write nothing (e.g. to report what the `ignore` policy lost, or to stop before the swap). The
   * `fail` rule and schema conflicts fail a dry run as they would the copy.
   */
  dryRun?: boolean;
};

export type ReconcileTableResult = {
  table: string;
  /** Rows old prod received after the snapshot, by kind ("upserts": timestamp mode, insert or update unknown). */
  lateWrites: { inserts: number; updates: number; deletes: number; upserts: number };
  /** Late writes the new prod already held (a retry after a committed run, or the same change on both sides). */
  alreadyPresent: number;
  /** What was written to the new prod. */
  inserted: number;
  updated: number;
  deleted: number;
  /** Late writes to keys whose new-prod row differs from the snapshot's (both sides changed the row). */
  conflicts: number;
  sampleConflictKeys: string[];
  /** false without a base branch: a late delete cannot be told from a row that never was. */
  deletesDetected: boolean;
  /** Sequences moved past the copied keys so the new prod's next inserts do not collide with them. */
  sequencesAdvanced: string[];
  /**
   * Columns of old prod's table that the new prod dropped or types differently, and that prod wrote nothing to since
   * the base: left out of the copy. (Had prod written to one, the run fails with ReconcileSchemaConflict.) Always
   * set by the activity; optional since results in histories recorded before it have none.
   */
  columnsLeftOut?: string[];
};

export type ReconcileResult = {
  mode: 'three_way' | 'timestamp';
  dryRun: boolean;
  tables: ReconcileTableResult[];
  /** Database clock on the target when the copy committed (or was counted, in a dry run). */
  at: IsoTimestamp;
};

// ---- changes since the fork -------------------------------------------------------------------------------------

export type DiffSinceForkInput = {
  projectId: string;
  databaseName: string;
  roleName: string;
  /** The fork point: a branch restored from the fork snapshot without finalize, with a read-only endpoint. */
  baseBranchId: string;
  baseEndpointId?: string;
  /** Prod now. */
  sourceBranchId: string;
  sourceEndpointId?: string;
  /** Keys the run names per table ("table" or "schema.table"); other tables use their primary key. */
  keys?: { table: string; key: string[] }[];
  /** Schemas compared; default ['public']. The schemas of the tables `keys` names are compared too. */
  schemas?: string[];
};

/**
 * One table prod changed since the fork. Rows are compared by every column either side has; a column only one side
 * has reads as null on the other (so a column added with a non-null default changes every row).
 */
export type TableChanges = {
  /** "schema.table" */
  table: string;
  /**
   * The key rows were matched by; null for a table without a primary key (and none named): then inserts are rows only
   * on prod, deletes rows only at the fork, updates 0, and `exact` is false.
   */
  key: string[] | null;
  exact: boolean;
  inserts: number;
  updates: number;
  deletes: number;
  /** Up to 5 changed keys (jsonb text of the key columns), for reports; empty without a key. */
  sampleKeys: string[];
};

export type DiffSinceForkResult = {
  /** Only tables with changes, sorted by name. */
  tables: TableChanges[];
  /** On prod, not at the fork. */
  tablesAdded: string[];
  /** At the fork, not on prod. */
  tablesDropped: string[];
  /** Sum of inserts + updates + deletes. */
  rowsChanged: number;
  /** Tables on both sides. */
  tablesCompared: number;
};

// ---- migrations --------------------------------------------------------------------------------------------------

/** Where dev's migrations are: its ledger table, or a folder of `<id>.sql` files on the worker, applied in name order. */
export type MigrationSource =
  { kind: 'ledger'; branchId: string; endpointId?: string } | { kind: 'folder'; path: string };

export type MigrationRef = { id: string; checksum: string };

export type PlanMigrationsInput = {
  projectId: string;
  databaseName: string;
  roleName: string;
  source: MigrationSource;
  prodBranchId: string;
  prodEndpointId?: string;
  /** Default "public.neon_promote_migrations" (id text primary key, checksum text, sql text, applied_at timestamptz). */
  ledgerTable?: string;
};

export type MigrationPlan = {
  /** Migrations prod lacks, in the order they are to be applied. Empty: same ledger position. */
  pending: MigrationRef[];
  upToDate: boolean;
  /** Last migration of the source and of prod (null: none). */
  sourcePosition: string | null;
  prodPosition: string | null;
  /** false: prod has no ledger table yet (the first applyMigration creates it). */
  prodLedgerExists: boolean;
};

export type ApplyMigrationInput = PlanMigrationsInput & {
  migration: MigrationRef;
  /** How long the migration may wait for a lock on prod (default 10 000 ms), so it cannot stall prod's traffic. */
  lockTimeoutMs?: number;
  /** Default 300 000 ms. */
  statementTimeoutMs?: number;
};

export type ApplyMigrationResult = {
  id: string;
  /** false: prod's ledger already had it (same checksum), nothing was run. */
  applied: boolean;
  durationMs: number;
};

// ---- the activities ----------------------------------------------------------------------------------------------

/** Read-only: they prove what a branch holds. */
export type VerificationActivities = {
  verifyBranch: (input: VerifyBranchInput) => Promise<VerifyBranchResult>;
  fingerprintBranch: (input: FingerprintBranchInput) => Promise<FingerprintBranchResult>;
};

/** Plans (never runs) the SQL checks, so a check that writes is refused before a run changes anything. */
export type ExplainActivities = {
  explainChecks: (input: ExplainChecksInput) => Promise<ExplainChecksResult>;
};

/** Write safety around a swap (detection, fence, reconciliation) and promotion by migrations. */
export type WriteActivities = {
  recordWritePosition: (input: RecordWritePositionInput) => Promise<RecordWritePositionResult>;
  fenceWrites: (input: FenceWritesInput) => Promise<FenceWritesResult>;
  liftFence: (input: LiftFenceInput) => Promise<LiftFenceResult>;
  reconcileLateWrites: (input: ReconcileInput) => Promise<ReconcileResult>;
  diffSinceFork: (input: DiffSinceForkInput) => Promise<DiffSinceForkResult>;
  planMigrations: (input: PlanMigrationsInput) => Promise<MigrationPlan>;
  applyMigration: (input: ApplyMigrationInput) => Promise<ApplyMigrationResult>;
};

export type DatabaseActivities = VerificationActivities & ExplainActivities & WriteActivities;
