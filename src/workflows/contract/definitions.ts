/**
 * Signals, queries and updates of every workflow, and the shapes they carry. Clients import these definitions, so a
 * handler and its callers cannot disagree on a name.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ReconcileResult, TableChanges, TableWriteDelta } from '../../activities/contract';

/** The workflow types that change a project and therefore run one at a time per project. */
export type RunKind = 'setup' | 'promote' | 'refresh' | 'rollback' | 'janitor';

/** The workflow type of each kind of run. */
export const RUN_KIND_WORKFLOW_TYPES: Readonly<Record<RunKind, string>> = {
  setup: 'setupEnvironments',
  promote: 'promote',
  refresh: 'refreshDev',
  rollback: 'rollback',
  janitor: 'janitor',
};

export type Outcome =
  | 'promoted'
  | 'rolled_back'
  | 'aborted'
  | 'dry_run'
  | 'noop'
  | 'created'
  | 'refreshed'
  | 'deleted'
  | 'reset'
  | 'cleaned'
  | 'refused'
  | 'cancelled'
  | 'failed';

/** The workflows that change a project or its previews: their results carry an `outcome`, they count and notify. */
export const RUN_WORKFLOW_TYPES: ReadonlySet<string> = new Set([
  'setupEnvironments',
  'createPreview',
  'resetPreview',
  'deletePreview',
  'promote',
  'refreshDev',
  'rollback',
  'janitor',
]);

export type StepStatus = 'running' | 'done' | 'failed' | 'skipped';

export type StepRecord = {
  name: string;
  status: StepStatus;
  startedAt: string;
  endedAt: string | null;
  /** Neon IDs the step used or made (branch, snapshot, endpoint), for operators and for the write guard. */
  ids: Record<string, string>;
  detail: string | null;
};

export type Progress = {
  workflowType: string;
  projectId: string | null;
  /** Waiting for the project's earlier runs to finish (see projectCoordinator). */
  queued: boolean;
  currentStep: string | null;
  steps: StepRecord[];
  outcome: Outcome | null;
  reason: string | null;
  /** Promotions: what prod received between the rollback snapshot and the swap, and what the policy did about it. */
  writes?: WriteReport;
};

// ---- writes to prod during a promotion -----------------------------------------------------------------------------

export type WritePolicy = 'fence' | 'abort' | 'reconcile' | 'ignore';

export type FenceReport = {
  /** null: not raised, because the database was read-only already (the owner's setting); nothing was lifted either. */
  fencedAt: string | null;
  liftedAt: string | null;
  /** How long prod refused writes (database clock, fence raised until lifted). */
  fencedForMs: number | null;
  sessionsEnded: number;
  /** Sessions the role could not end (other roles): they could still write while the fence was up. */
  remainingSessions: { role: string; count: number }[];
};

export type WriteReport = {
  policy: WritePolicy;
  /** Prod received writes between the rollback snapshot and the last check before the swap (null: not checked). */
  detected: boolean | null;
  /** From pg_stat_user_tables (rows of rolled-back transactions included). */
  rowsChanged: number;
  rowsChangedByTable: Record<string, TableWriteDelta>;
  /** No session could still hold uncounted writes at the check (always so under the fence). */
  exact: boolean | null;
  fence: FenceReport | null;
  /** reconcile: what was copied into the new prod; ignore with tables named: what was not (a dry run). */
  reconciled: ReconcileResult | null;
  /** ignore: rows prod accepted after the rollback snapshot that the new prod does not have. */
  lost: { rows: number; byTable: Record<string, number>; how: 'exact' | 'estimate' } | null;
  /** reconcile: tables that received writes but are not in the caller's list: their late writes were not copied. */
  untrackedTables: string[];
  /** Prod's writes since dev was forked (null: not counted, e.g. the run stopped before). */
  sinceFork: ProdWritesSinceFork | null;
  note: string | null;
};

/** The state of prod dev was forked from: a snapshot the product keeps until the next fork (steps/fork-point.ts). */
export type ForkPoint = { snapshotId: string; name: string; createdAt: string };

/**
 * What happens to a table's writes since the fork: `carry` (named in `reconcile.tables`: merged into the new prod),
 * `discard` (named in `discardProdWrites`: the new prod does not have them, on purpose), `unhandled` (neither: the
 * promotion stops before the swap).
 */
export type ForkWritesHandling = 'carry' | 'discard' | 'unhandled';

export type ProdWritesSinceFork = {
  /** null: no fork point is known (dev was forked before the product kept them, or a rollback cleared it). */
  forkPoint: ForkPoint | null;
  /** Tables prod changed since the fork, with the counts and what the run does with them. */
  tables: (TableChanges & { handling: ForkWritesHandling })[];
  /** Tables prod created or dropped since the fork (the new prod has dev's set of tables). */
  tablesAdded: { table: string; handling: ForkWritesHandling }[];
  tablesDropped: { table: string; handling: ForkWritesHandling }[];
  rowsChanged: number;
  /** Set when something could not be measured (no fork point) or was let go on purpose. */
  note: string | null;
};

export const progressQuery = defineQuery<Progress>('progress');

// ---- approval (promote) ------------------------------------------------------------------------------------------

export type ApprovalRequest = { by: string; comment?: string };
export type Approval = { approved: boolean; by: string; comment: string | null; at: string };

/** Accepted only while the promotion waits for approval; `by` is recorded in the result and history. */
export const approveUpdate = defineUpdate<Approval, [ApprovalRequest]>('approve');
export const rejectUpdate = defineUpdate<Approval, [ApprovalRequest]>('reject');

// ---- per-project coordinator -------------------------------------------------------------------------------------

export type IfBusy = 'queue' | 'refuse';

export type SubmitRequest = {
  kind: RunKind;
  /** The run's own workflow ID, chosen by the caller so it can await and query the run. */
  workflowId: string;
  input: unknown;
  /** When another run of the project is active or queued: wait for it, or be refused at once. */
  ifBusy: IfBusy;
  /** Shown in the Temporal UI as the run's summary. */
  summary?: string;
  /**
   * Set when the run was started directly (not by the coordinator) and asks to be admitted: the coordinator starts no
   * child, signals this run's turn and awaits its end (`input` is not used).
   */
  external?: { runId: string };
  /**
   * Set by a queued run that found the coordinator no longer lists it (coordination/turn.ts): a coordinator that lost
   * its queue first recovers the project's other open runs.
   */
  readmit?: boolean;
};

/** `position` 0: the run starts now; n: n runs go first. The run exists as a workflow when this returns. */
export type SubmitResult = { workflowId: string; position: number };

export const submitUpdate = defineUpdate<SubmitResult, [SubmitRequest]>('submit');

export type CoordinatorState = {
  projectId: string;
  active: string | null;
  queued: string[];
  /** Runs finished by this coordinator (across continue-as-new). */
  finished: number;
};

export const coordinatorStateQuery = defineQuery<CoordinatorState>('coordinatorState');

/** Coordinator -> run: the project is yours now. */
export const turnSignal = defineSignal('turn');

/** One coordinator per project, with this ID: update-with-start on it is how runs are admitted. */
export function coordinatorWorkflowId(projectId: string): string {
  return `neon-promote-project-${projectId}`;
}
