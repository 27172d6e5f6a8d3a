/**
 * The activities that call the Neon API: branches, endpoints, snapshots, restores, operations and schema diffs.
 * Implementations: src/activities/neon/.
 */

/** ISO 8601 timestamp with a UTC offset, e.g. "YYYY-MM-DDThh:mm:ssZ". */
export type IsoTimestamp = string;

export type EndpointInfo = {
  id: string;
  branchId: string;
  type: 'read_write' | 'read_only';
  currentState: string;
};

/** An endpoint with where clients connect: the host only, never a role, password or connection string. */
export type EndpointWithHost = EndpointInfo & { host: string | null };

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
  /** Taken by a request (ours or anyone's), not by a backup schedule: only these count toward the plan's limit. */
  manual: boolean;
};

/**
 * The operations a mutation started at Neon, or found still running from an earlier attempt. A mutation activity
 * returns only once they have finished, so whoever acts on its result finds the new state.
 */
export type MutationResult = { operationIds: string[] };

// ---- environment -------------------------------------------------------------------------------------------------

export type ResolveEnvironmentInput = { projectId: string; prodBranchName: string; devBranchName: string };

export type ResolveEnvironmentResult = {
  projectId: string;
  /**
   * When the lists were read (the worker's clock, just before the reads). Workflows judge expiry by this time, not by
   * workflow time: this activity is local, and a query that arrives while its result waits to be handed to the
   * workflow makes the worker end the workflow task and hand the result over in an extra one. Queries are not in
   * history, so a replay hands the result over one task earlier, at an earlier workflow time; this time, recorded with
   * the result, is the same in both.
   */
  observedAt: IsoTimestamp;
  /** null when no branch has that name (the workflow decides whether that is an error). */
  prod: BranchWithEndpoints | null;
  dev: BranchWithEndpoints | null;
  /** All branches of the project, without endpoints, e.g. to find "(old)" backups and previews. */
  branches: BranchInfo[];
  snapshots: SnapshotInfo[];
  /** The plan's limit of manual snapshots as configured for the worker (Neon does not report it); null when unknown. */
  snapshotLimit: number | null;
  /** snapshotLimit less the manual snapshots (scheduled ones do not count), or null when the limit is unknown. */
  freeSnapshotSlots: number | null;
  /** The plan's limit of root branches as configured for the worker (Neon does not report it); null when unknown. */
  rootBranchLimit: number | null;
};

/** Every branch of a project and every endpoint, as Neon has them now (the listPreviews workflow reads these). */
export type ProjectBranches = { branches: BranchInfo[]; endpoints: EndpointWithHost[] };

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

/**
 * A branch a swap replaced (the backup), once its run no longer needs it. Neon refuses an expiry on the project's
 * default branch, and whether a finalize passes the flag on is not documented: where the backup still has it, the flag
 * goes to `servingBranchId`, the branch that took the backup's place, before the expiry is set.
 */
export type RetireBackupInput = {
  projectId: string;
  branchId: string;
  servingBranchId: string;
  /** Expires this long after the request is sent; null keeps the backup without expiry (only the flag moves). */
  retentionMs: number | null;
};

export type RetireBackupResult = MutationResult & {
  /** The expiry Neon accepted; null when kept without one or when the backup is gone. */
  expiresAt: IsoTimestamp | null;
  /** The default flag was found on the backup and moved to the serving branch. */
  movedDefault: boolean;
};

export type DeleteBranchInput = { projectId: string; branchId: string };

/** `deleted` is false when it was already gone (a 404 counts as done). */
export type DeleteResult = MutationResult & { deleted: boolean };

export type CreateEndpointInput = {
  projectId: string;
  branchId: string;
  type: 'read_write' | 'read_only';
  /**
   * The branch was made just before by the caller's own restore (it answered `alreadyDone: false`): it has no endpoint
   * but one an earlier attempt of this activity made, so attempt 1 creates without looking.
   */
  branchIsNew?: boolean;
};

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
  /**
   * The caller's workflow run is its workflow's first execution and found none of its names at Neon: attempt 1 sends
   * without looking for an earlier one's branch (a retry still looks).
   */
  firstExecution?: boolean;
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
  /** As for restoreSnapshot: attempt 1 finalizes without reading the branch (`replacedBranchId` is then null). */
  firstExecution?: boolean;
  /**
   * An endpoint to delete first, waiting for its operations (a promotion's candidate's read-write endpoint: the
   * finalize moves the target's to the branch, and a branch has one). One already gone counts as deleted.
   */
  deleteEndpointId?: string;
};

export type FinalizeRestoreResult = MutationResult & {
  /** The finalized branch keeps its ID; it takes the replaced branch's name and endpoints once the operations finish. */
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

/**
 * A swap's clean-up in one activity, once the swap stands: the branch the fork point was restored to (prod's writes
 * since the fork were counted on it) deleted, the snapshot prod and dev now share renamed to be the fork point, the
 * fork point before it deleted, the replaced branch given its expiry. Each part is done as its own activity does it
 * (deleteBranch, updateSnapshot, deleteSnapshot, retireBackup), so a retry finds what an earlier attempt did.
 */
export type CleanUpSwapInput = {
  projectId: string;
  /** Deleted first, if given. A delete that fails for good is reported (`forkBaseLeft`), not a failure. */
  forkBaseBranchId?: string;
  /** The snapshot to keep as the fork point, and its name as one. */
  forkPoint: { snapshotId: string; name: string };
  /**
   * The fork point before, deleted once the new one is named. A delete that fails for good is reported
   * (`previousForkPointLeft`), not a failure.
   */
  previousForkPointId?: string;
  /** As for retireBackup; an expiry Neon refuses keeps the backup (`backupKept`), not a failure. */
  backup: { branchId: string; servingBranchId: string; retentionMs: number };
};

export type CleanUpSwapResult = {
  /** The fork point, renamed. */
  forkPoint: SnapshotInfo;
  /** Why the fork point's branch is left, or null: deleted, gone already, or none given. */
  forkBaseLeft: string | null;
  /**
   * Why the fork point before is left (the janitor deletes it, a superseded fork point), or null: deleted, gone
   * already, or none given.
   */
  previousForkPointLeft: string | null;
  /** The expiry Neon accepted; null when the backup is kept (`backupKept` says why) or gone. */
  backupExpiresAt: IsoTimestamp | null;
  /** Why the backup has no expiry (the janitor lists it as skipped, for an operator to delete), or null. */
  backupKept: string | null;
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

// ---- the activities ----------------------------------------------------------------------------------------------

/**
 * Each is safe to run again after a crash or a lost response: a second run finds what the first one made (by
 * deterministic name or by restore lineage) and returns it.
 */
export type NeonActivities = {
  resolveEnvironment: (input: ResolveEnvironmentInput) => Promise<ResolveEnvironmentResult>;
  getBranch: (input: GetBranchInput) => Promise<BranchWithEndpoints | null>;
  listBranches: (input: ListBranchesInput) => Promise<BranchInfo[]>;
  listBranchesAndEndpoints: (input: { projectId: string }) => Promise<ProjectBranches>;
  createBranch: (input: CreateBranchInput) => Promise<CreateBranchResult>;
  updateBranch: (input: UpdateBranchInput) => Promise<UpdateBranchResult>;
  renameBranch: (input: RenameBranchInput) => Promise<UpdateBranchResult>;
  protectBranch: (input: ProtectBranchInput) => Promise<UpdateBranchResult>;
  setBranchExpiry: (input: SetBranchExpiryInput) => Promise<UpdateBranchResult>;
  retireBackup: (input: RetireBackupInput) => Promise<RetireBackupResult>;
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
  cleanUpSwap: (input: CleanUpSwapInput) => Promise<CleanUpSwapResult>;
  waitForOperations: (input: WaitForOperationsInput) => Promise<WaitForOperationsResult>;
  compareSchema: (input: CompareSchemaInput) => Promise<CompareSchemaResult>;
};
