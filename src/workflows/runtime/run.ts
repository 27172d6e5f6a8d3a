/**
 * What operators see of a run: the `progress` query, the NeonProjectId / NeonPhase / NeonOutcome search attributes and
 * the current-details text of the Temporal UI. Steps are recorded in workflow state (not in history), so they cost no
 * events beyond one search-attribute upsert per step. Waiting for the run's turn: coordination/turn.ts.
 */
import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { NeonOutcome, NeonPhase, NeonProjectId } from '../../temporal/search-attributes';
import { progressQuery, type Outcome, type Progress, type StepRecord } from '../contract/definitions';

const now = (): string => new Date(Date.now()).toISOString();

// Module state is per workflow execution (the SDK keeps a module cache per workflow), so this is this run's Run.
let current: Run | undefined;
/** The Run of the executing workflow, if it made one: the notification interceptor reads its steps and reason. */
export const currentRun = (): Run | undefined => current;

export class Run {
  readonly progress: Progress;
  /** The steps running now, the latest started last: the activities' summaries name the last one. */
  private readonly running: StepRecord[] = [];

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
  }

  /** Called once the input is valid: from here on the run is findable by project in the UI. */
  begin(projectId: string): void {
    this.progress.projectId = projectId;
    upsertSearchAttributes([{ key: NeonProjectId, value: projectId }]);
    this.summarize();
  }

  /** Runs one step and records its start, end, IDs and failure. */
  async step<T>(name: string, fn: (step: StepRecord) => Promise<T>): Promise<T> {
    const step: StepRecord = { name, status: 'running', startedAt: now(), endedAt: null, ids: {}, detail: null };
    this.progress.steps.push(step);
    this.progress.currentStep = name;
    this.running.push(step);
    this.phase(name);
    this.summarize();
    try {
      const result = await fn(step);
      // A step may judge its own result a failure without throwing (a verification whose check failed).
      if (step.status === 'running') step.status = 'done';
      return result;
    } catch (err) {
      step.status = 'failed';
      step.detail ??= err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      step.endedAt = now();
      this.running.splice(this.running.indexOf(step), 1);
      this.summarize();
    }
  }

  /** The step running now (the latest started, if steps overlap), or null between steps. */
  activeStep(): string | null {
    return this.running.at(-1)?.name ?? null;
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

  /** Shows the run as waiting for earlier runs of its project. */
  enterQueue(): void {
    if (this.progress.queued) return;
    this.progress.queued = true;
    this.phase('queued');
  }

  leaveQueue(): void {
    this.progress.queued = false;
  }

  private phase(name: string): void {
    upsertSearchAttributes([{ key: NeonPhase, value: name }]);
  }

  /**
   * The Temporal UI's current details: where the run is (or how it ended) first, then each step. A refused run (and a
   * promotion aborted before its swap) says so in words: Temporal itself shows it only as Failed (or Completed).
   */
  private summarize(): void {
    const progress = this.progress;
    const lines = [
      `**${progress.workflowType}** of project ${progress.projectId ?? '?'}`,
      '',
      headline(progress, this.activeStep()),
      '',
    ];
    for (const step of progress.steps)
      lines.push(`- ${step.name}: ${step.status}${step.detail ? ` (${step.detail.slice(0, 200)})` : ''}`);
    setCurrentDetails(lines.join('\n').trimEnd());
  }
}

/** One line: the outcome and why, or the step running now. */
function headline(progress: Progress, active: string | null): string {
  const reason = progress.reason ? `: ${progress.reason.split('\n')[0]?.slice(0, 500)}` : '';
  switch (progress.outcome) {
    case null:
      if (progress.queued) return 'Waiting for earlier runs of this project (queued by its coordinator).';
      return active
        ? `Now: **${active}**`
        : progress.steps.length
          ? `After: ${progress.steps.at(-1)?.name}`
          : 'Starting.';
    case 'refused':
      return `**Refused**, nothing was changed${reason}`;
    case 'aborted':
      return `**Aborted** before the swap (refused), prod was not changed${reason}`;
    default:
      return `Outcome: **${progress.outcome}**${reason}`;
  }
}
