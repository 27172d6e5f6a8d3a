/**
 * The activities that read or drive Temporal itself, through the worker's own client: admission of runs started
 * directly, runs a schedule starts, refreshDev's baseline and the previews' runs. Implementations:
 * src/activities/temporal/.
 */
import type { IfBusy, Outcome, RunKind } from '../../workflows/contract/definitions';
import type { FingerprintBranchResult } from './database';

// ---- admission of runs started directly --------------------------------------------------------------------------

export type AdmitExternalRunInput = {
  projectId: string;
  kind: RunKind;
  workflowId: string;
  /** The run asking: the coordinator signals and awaits exactly this execution. */
  runId: string;
  ifBusy: IfBusy;
};

export type AdmitExternalRunResult =
  | { admitted: true; /** 0: the run goes now; n: n runs go first. */ position: number }
  | { admitted: false; reason: string; activeWorkflowId: string | null };

export type EnsureAdmittedInput = { projectId: string; kind: RunKind; workflowId: string; runId: string };

/** listed: the running coordinator has the run in its queue; else it was admitted again, `position` runs go first. */
export type EnsureAdmittedResult = { listed: true } | { listed: false; position: number };

/** A run of the project that is open now, as the coordinator recovers it after it lost its queue. */
export type OpenRun = { workflowId: string; runId: string; queued: boolean };

export type AdmissionActivities = {
  admitExternalRun: (input: AdmitExternalRunInput) => Promise<AdmitExternalRunResult>;
  ensureAdmitted: (input: EnsureAdmittedInput) => Promise<EnsureAdmittedResult>;
  openRunsOf: (input: { projectId: string }) => Promise<OpenRun[]>;
  awaitExternalRun: (input: { workflowId: string; runId: string }) => Promise<void>;
};

// ---- runs a workflow starts the way a client does ----------------------------------------------------------------

export type SubmitRunInput = {
  kind: Extract<RunKind, 'refresh' | 'janitor'>;
  /** Derived from the calling workflow's ID, so a retried attempt finds the run its earlier attempt admitted. */
  workflowId: string;
  input: unknown;
  ifBusy: IfBusy;
  summary?: string;
};

export type SubmitRunResult =
  | { admitted: true; workflowId: string; /** -1: admitted by an earlier attempt */ position: number }
  | { admitted: false; reason: string; activeWorkflowId: string | null };

export type AwaitRunResult = {
  workflowId: string;
  /** Temporal's view of how the run ended. */
  status: 'completed' | 'failed';
  outcome: Outcome | null;
  reason: string | null;
};

export type RunActivities = {
  submitRun: (input: SubmitRunInput) => Promise<SubmitRunResult>;
  awaitRun: (input: { workflowId: string }) => Promise<AwaitRunResult>;
  cancelRun: (input: { workflowId: string }) => Promise<void>;
};

// ---- refreshDev's baseline ---------------------------------------------------------------------------------------

/** The run whose recorded fingerprint says what dev held when its data was last promoted or refreshed. */
export type RefreshBaseline = {
  kind: 'last_promotion' | 'last_refresh';
  workflowId: string;
  runId: string;
  closedAt: string | null;
  /** promote's `candidateFingerprint` or refreshDev's `devFingerprint`; null when the run recorded none. */
  fingerprint: FingerprintBranchResult | null;
};

export type BaselineActivities = {
  findRefreshBaseline: (input: { projectId: string }) => Promise<RefreshBaseline | null>;
};

// ---- previews ----------------------------------------------------------------------------------------------------

/** A completed createPreview run of the project and the branch its result names. */
export type PreviewRun = { branchId: string; workflowId: string };

export type PreviewRunActivities = {
  findPreviewRuns: (input: { projectId: string }) => Promise<PreviewRun[]>;
};
