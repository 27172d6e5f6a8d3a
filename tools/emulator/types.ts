/**
 * What a fault does. The operation kinds give the operations of a matching mutation another end than `finished`, each
 * one a status of the spec's OperationStatus: `fail_operation` ends them `failed` and `cancel_operation` ends them
 * `cancelling` then `cancelled`, both putting the project back as it was; `skip_operation` ends them `skipped` (the
 * work stays done); `operation_error` passes them through `error` (a failed attempt that Neon retries, counted in
 * `failures_count`) before they finish.
 */
export type FaultKind =
  | 'error'
  | 'rate_limit'
  | 'locked'
  | 'latency'
  | 'fail_operation'
  | 'cancel_operation'
  | 'skip_operation'
  | 'operation_error'
  | 'response_lost';

/** How the operations of one mutation end, when a fault decides it (absent: `finished`). */
export type OperationFate = 'fail' | 'cancel' | 'skip' | 'error';

/** One fault the emulator injects into matching requests. `rate` is a share of requests (seeded, so runs repeat). */
export type FaultRule = {
  kind: FaultKind;
  /** Templated route, e.g. 'POST /projects/{project_id}/branches/{branch_id}/snapshot'; '*' or absent = every route. */
  route?: string;
  /** Share of matching requests affected, 0..1 (default 1). */
  rate?: number;
  /** Affect at most this many requests, then the rule is spent (e.g. a burst of 3 x 423). Default: unlimited. */
  times?: number;
  /** For 'error': the status sent (default 503). */
  status?: number;
  /** For 'rate_limit': the Retry-After header in seconds (default 1). */
  retryAfterSec?: number;
  /** For 'latency': delay added before the request is handled. */
  latencyMs?: number;
};

export type FaultConfig = { rules: FaultRule[]; seed?: number };

export type RequestLogEntry = {
  method: string;
  /** Templated route, e.g. 'POST /projects/{project_id}/branches/{branch_id}/snapshot'; 'UNMATCHED' when none fits. */
  route: string;
  path: string;
  /** Status sent; 0 when the response was deliberately lost (fault 'response_lost'). */
  status: number;
  at: string;
  requestId: string;
};

export type OperationStatus =
  'scheduling' | 'running' | 'finished' | 'failed' | 'error' | 'cancelling' | 'cancelled' | 'skipped';

export type OperationRec = {
  id: string;
  project_id: string;
  branch_id?: string;
  endpoint_id?: string;
  action: string;
  status: OperationStatus;
  error?: string;
  failures_count: number;
  created_at: string;
  updated_at: string;
  total_duration_ms: number;
  retry_at?: string;
  /** Internal: when the operation starts running and is due to end (ms epoch), and how it ends (a fault's). */
  runAt: number;
  dueAt: number;
  /** Set by states written before `fate`: the operation ends failed. */
  willFail?: boolean;
  fate?: OperationFate;
};

export type DatabaseRec = { id: number; name: string; owner_name: string; physical: string; created_at: string };
export type RoleRec = { name: string; password: string; created_at: string };

export type BranchRec = {
  id: string;
  project_id: string;
  parent_id?: string;
  parent_lsn?: string;
  parent_timestamp?: string;
  name: string;
  current_state: 'init' | 'ready' | 'resetting';
  state_changed_at: string;
  created_at: string;
  updated_at: string;
  default: boolean;
  protected: boolean;
  expires_at?: string;
  init_source: string;
  creation_source: string;
  /** The restore's own state; `detaching` is shown instead until `detaching_until` (branchView). */
  restore_status?: 'restored' | 'finalized';
  /** Internal (ms epoch): until then the branch reads `restore_status: detaching` (spec BranchRestoreStatus). */
  detaching_until?: number;
  restored_from?: string;
  restored_as?: string;
  /** Internal (ms on the emulator's clock, `now(env)`): when a snapshot restore made this branch. */
  snapshot_restored_at?: number;
  last_reset_at?: string;
  databases: DatabaseRec[];
  roles: RoleRec[];
};

export type EndpointRec = {
  id: string;
  project_id: string;
  branch_id: string;
  type: 'read_write' | 'read_only';
  current_state: 'init' | 'active' | 'idle';
  created_at: string;
  updated_at: string;
  autoscaling_limit_min_cu: number;
  autoscaling_limit_max_cu: number;
  suspend_timeout_seconds: number;
};

export type SnapshotRec = {
  id: string;
  name: string;
  source_branch_id: string;
  created_at: string;
  timestamp: string;
  lsn: string;
  expires_at?: string;
  manual: boolean;
  full_size: number;
  /** Copies of the source branch's databases at snapshot time (name -> physical database). */
  databases: { name: string; owner_name: string; physical: string }[];
  roles: RoleRec[];
};

/** A soft-deleted branch ("Delete branch" without hard_delete): kept, with its endpoints, until `recoverable_until`. */
export type DeletedBranchRec = {
  branch: BranchRec;
  endpoints: EndpointRec[];
  deleted_at: string;
  recoverable_until: string;
  deletion_method: 'user' | 'ttl';
};

export type ProjectRec = {
  id: string;
  name: string;
  region_id: string;
  pg_version: number;
  created_at: string;
  updated_at: string;
  history_retention_seconds: number;
  branches: BranchRec[];
  endpoints: EndpointRec[];
  snapshots: SnapshotRec[];
  operations: OperationRec[];
  /** Soft-deleted branches within their recovery window (absent in states written before soft deletion). */
  deleted?: DeletedBranchRec[];
  /** The branch the project was created with: its root branch, which cannot be deleted (absent in older states). */
  root_branch_id?: string;
  /** Project state before the mutation whose operations are due to fail; put back when they do. */
  undo?: Omit<ProjectRec, 'operations' | 'undo'>;
};

export type State = {
  version: 1;
  /** Kept so that connection strings and the API key stay valid across restarts. */
  proxyPort?: number;
  apiKey?: string;
  secret?: string;
  /** Instance tag naming this emulator's objects on its Postgres server (see pg/namespace.ts); '' in older states. */
  namespace?: string;
  nextDbId: number;
  projects: Record<string, ProjectRec>;
};
