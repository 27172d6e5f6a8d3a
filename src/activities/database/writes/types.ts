/**
 * Inputs and outputs of the write-safety activities (issue 7): detection, fence, reconciliation, migrations. Plain
 * JSON, as everything in workflow history: IDs, names, counts, ISO timestamps; never a password or connection string.
 */

/** `type` of the ApplicationFailures these activities add; all are non-retryable. */
export type WriteFailureType =
  | 'WritesDetected'
  | 'DetectionFailed'
  | 'FenceFailed'
  | 'ReconcileConflict'
  | 'ReconcileFailed'
  | 'MigrationFailed'
  | 'LedgerDiverged';

/** One database of one branch, reached as one role (through `endpointId`, or the branch's read-write endpoint). */
export type WriteTarget = {
  projectId: string;
  branchId: string;
  endpointId?: string;
  databaseName: string;
  roleName: string;
};

// ---- detection ---------------------------------------------------------------------------------------------------

/** Cumulative counters of pg_stat_user_tables (n_tup_ins, n_tup_upd, n_tup_del, n_live_tup). */
export type TableWriteCounters = { inserts: number; updates: number; deletes: number; liveRows: number };

export type WritePosition = {
  branchId: string;
  /** pg_current_wal_lsn(). Per branch on Neon, cluster-wide in the emulator; moves for more than user writes. */
  lsn: string;
  /** Per user table, keyed "schema.table" (identifiers quoted only when they need it). */
  tables: Record<string, TableWriteCounters>;
  /** The database's clock when the counters were read. */
  at: string;
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
};

export type FenceWritesResult = {
  branchId: string;
  /** From here on, every session of the database starts read-only and none that started earlier is left. */
  fencedAt: string;
  /** The database was read-only by default before this call (a retry of this call, or the owner's setting). */
  alreadyFenced: boolean;
  sessionsEnded: number;
  /** Sessions the role may not end (other roles, superusers): they keep writing if they could before. */
  remainingSessions: { role: string; count: number }[];
};

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
  fencedAt?: string;
};

export type LiftFenceResult = {
  /** The branch lifted, or null when it was not found. */
  branchId: string | null;
  /** A fence (default_transaction_read_only on the database) was found and removed. */
  wasFenced: boolean;
  liftedAt: string | null;
  fencedForMs: number | null;
  sessionsEnded: number;
  /** Why nothing was done: the branch is gone, or it has no read-write endpoint to connect to. */
  skipped: 'branch_not_found' | 'no_endpoint' | null;
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
  /** The replaced prod ("<prod> (old)"): old prod at the swap, late writes included. Needs an endpoint. */
  sourceBranchId: string;
  sourceEndpointId?: string;
  /** Old prod at the rollback snapshot: a branch restored from it without finalize. Gives exact inserts/updates/deletes. */
  baseBranchId?: string;
  baseEndpointId?: string;
  /** Without a base: the rollback snapshot's time; needs `timestampColumn` on every table; deletes go unseen. */
  since?: string;
  /** The new prod. */
  targetBranchId: string;
  targetEndpointId?: string;
  tables: ReconcileTable[];
  onConflict: ConflictRule;
  /** Count and compare, write nothing (e.g. to report what the `ignore` policy lost). */
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
};

export type ReconcileResult = {
  mode: 'three_way' | 'timestamp';
  dryRun: boolean;
  tables: ReconcileTableResult[];
  /** Database clock on the target when the copy committed (or was counted, in a dry run). */
  at: string;
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

export type ApplyMigrationInput = Omit<PlanMigrationsInput, 'ledgerTable'> & {
  ledgerTable?: string;
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
