/**
 * What operators see of a run: the `progress` query, the NeonProjectId / NeonPhase / NeonOutcome search attributes and
 * the current-details text of the Temporal UI. Steps are recorded in workflow state (not in history), so they cost no
 * events beyond one search-attribute upsert per step.
 */
import {
  condition,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { NeonOutcome, NeonPhase, NeonProjectId } from '../temporal/search-attributes';
import { DIRECT_ADMISSION, admitStartedDirectly, ifBusyOf, refusedFailure, runKindOf } from './admission';
import {
  coordinatorWorkflowId,
  progressQuery,
  turnSignal,
  type Outcome,
  type Progress,
  type StepRecord,
} from './definitions';

const now = (): string => new Date(Date.now()).toISOString();

// Module state is per workflow execution (the SDK keeps a module cache per workflow), so this is this run's Run.
let current: Run | undefined;
/** The Run of the executing workflow, if it made one: the notification interceptor reads its steps and reason. */
export const currentRun = (): Run | undefined => current;

export class Run {
  readonly progress: Progress;
  private turn = false;

  constructor(readonly workflowType: string) {
    this.progress = {
      workflowType,
      projectId: null,
      queued: false,
      currentStep: null,
      steps: [],
      outcome: null,
      reason: null,
    };
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- published for the notification interceptor
    current = this;
    setHandler(progressQuery, () => this.progress);
    // Registered at once so a turn granted before this run asks for it is not lost.
    setHandler(turnSignal, () => void (this.turn = true));
  }

  /** Called once the input is valid: from here on the run is findable by project in the UI. */
  begin(projectId: string): void {
    this.progress.projectId = projectId;
    upsertSearchAttributes([{ key: NeonProjectId, value: projectId }]);
    this.summarize();
  }

  /**
   * Waits until the project's coordinator grants this run its turn (earlier runs of the project are done). A run the
   * coordinator started is admitted already; a run started directly asks the coordinator to admit it first, honouring
   * `ifBusy` from its raw input (default 'queue'), and ends at once, non-retryable, when it is refused.
   */
  async waitForTurn(raw?: unknown): Promise<void> {
    const projectId = this.progress.projectId;
    if (!projectId) return;
    if (workflowInfo().parent?.workflowId !== coordinatorWorkflowId(projectId)) {
      const kind = runKindOf(this.workflowType);
      // Runs started directly before admission existed replay without it.
      if (!kind || !patched(DIRECT_ADMISSION)) return;
      const ifBusy = ifBusyOf(raw);
      this.queue();
      const admitted = await admitStartedDirectly(projectId, kind, ifBusy);
      if (!admitted.admitted) {
        this.progress.queued = false;
        this.finish('refused', admitted.reason);
        throw refusedFailure(admitted.reason);
      }
    }
    if (!this.turn) {
      this.queue();
      await condition(() => this.turn);
    }
    this.progress.queued = false;
  }

  /** Runs one step and records its start, end, IDs and failure. */
  async step<T>(name: string, fn: (step: StepRecord) => Promise<T>): Promise<T> {
    const step: StepRecord = { name, status: 'running', startedAt: now(), endedAt: null, ids: {}, detail: null };
    this.progress.steps.push(step);
    this.progress.currentStep = name;
    this.phase(name);
    try {
      const result = await fn(step);
      step.status = 'done';
      return result;
    } catch (err) {
      step.status = 'failed';
      step.detail ??= err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      step.endedAt = now();
      this.summarize();
    }
  }

  /** Records a step that was not needed (e.g. approval when none was asked for). */
  skip(name: string, detail: string): void {
    const at = now();
    this.progress.steps.push({ name, status: 'skipped', startedAt: at, endedAt: at, ids: {}, detail });
  }

  finish(outcome: Outcome, reason: string | null = null): void {
    this.progress.outcome = outcome;
    this.progress.reason = reason;
    this.progress.currentStep = null;
    upsertSearchAttributes([
      { key: NeonPhase, value: 'done' },
      { key: NeonOutcome, value: outcome },
    ]);
    this.summarize();
  }

  private queue(): void {
    if (this.progress.queued) return;
    this.progress.queued = true;
    this.phase('queued');
  }

  private phase(name: string): void {
    upsertSearchAttributes([{ key: NeonPhase, value: name }]);
  }

  private summarize(): void {
    const p = this.progress;
    const lines = [`**${p.workflowType}** of project ${p.projectId ?? '?'}`];
    if (p.outcome) lines.push(`outcome: **${p.outcome}**${p.reason ? ` (${p.reason})` : ''}`);
    else lines.push(p.queued ? 'waiting for earlier runs of this project' : `step: ${p.currentStep ?? 'starting'}`);
    for (const s of p.steps) lines.push(`- ${s.name}: ${s.status}${s.detail ? ` (${s.detail.slice(0, 200)})` : ''}`);
    setCurrentDetails(lines.join('\n'));
  }
}
