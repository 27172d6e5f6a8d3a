/**
 * Signals, queries and updates of every workflow, and the shapes they carry. Clients import these definitions, so a
 * handler and its callers cannot disagree on a name.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The workflow types that change a project and therefore run one at a time per project. */
export type RunKind = 'setup' | 'promote' | 'refresh' | 'rollback' | 'janitor';

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

export type StepStatus = 'running' | 'done' | 'failed' | 'skipped';

export type StepRecord = {
  name: string;
  status: StepStatus;
  startedAt: string;
  endedAt: string | null;
  /** Neon IDs the step used or made (branch, snapshot, endpoint), for operators and for issue 7's hooks. */
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
