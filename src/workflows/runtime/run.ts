/**
 * What operators see of a run: the `progress` query, the NeonProjectId / NeonPhase / NeonOutcome search attributes and
 * the current-details text of the Temporal UI. Steps are recorded in workflow state (not in history), so they cost no
 * events beyond one search-attribute upsert per step.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdmitExternalRunResult } from '../../activities/contract';
import { admissionChecks } from './activity-options';
import { NeonOutcome, NeonPhase, NeonProjectId } from '../../temporal/search-attributes';
import { admitStartedDirectly, ifBusyOf, refusedFailure, runKindOf } from '../coordination/admission';
import {
  coordinatorWorkflowId,
  progressQuery,
  turnSignal,
  type Outcome,
  type IfBusy,
  type Progress,
  type RunKind,
  type StepRecord,
} from '../contract/definitions';

/**
 * The first check for a lost turn comes after this long, each next one after twice as long as the one before, up to
 * TURN_CHECK_GROWTH times the first: a run queued behind one that waits days for approval adds a few events an hour
 * to its history, not hundreds. A run's raw input may set `turnCheckSeconds` (tests do; positive, at most a day).
 */
const TURN_CHECK_SECONDS = 300;
const TURN_CHECK_GROWTH = 12;

/** `turnCheckSeconds` of a run's raw input: how long it waits for its turn before it checks it is still queued. */
export function turnCheckSecondsOf(raw: unknown): number {
  const value = (raw as { turnCheckSeconds?: unknown } | null | undefined)?.turnCheckSeconds;
  if (value === undefined) return TURN_CHECK_SECONDS;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 86_400) return value;
  throw ApplicationFailure.create({
    type: 'InvalidInput',
    message: 'invalid input: turnCheckSeconds: a number of seconds, more than 0 and at most 86400',
    nonRetryable: true,
    details: [{ field: 'turnCheckSeconds' }],
  });
}

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
    const kind = runKindOf(this.workflowType);
    if (!projectId || !kind) return;
    // Checked before admission, so a bad value fails the run before it is queued.
    const checkSeconds = turnCheckSecondsOf(raw);
    if (workflowInfo().parent?.workflowId !== coordinatorWorkflowId(projectId)) {
      const ifBusy = ifBusyOf(raw);
      this.queue();
      const admitted = await this.admitDirectly(projectId, kind, ifBusy);
      if (!admitted.admitted) {
        this.progress.queued = false;
        this.finish('refused', admitted.reason);
        throw refusedFailure(admitted.reason);
      }
    }
    if (!this.turn) {
      this.queue();
      await this.waitCheckingAdmission(projectId, kind, checkSeconds);
    }
    this.progress.queued = false;
  }

  /**
   * Waits for the turn, checking now and then that the coordinator still lists this run: one that was terminated or
   * reset while the run waited would never grant it, and a fresh one would not know it. Not listed, the run is
   * submitted again (an external entry keyed by its run ID, which the coordinator accepts once).
   */
  private async waitCheckingAdmission(projectId: string, kind: RunKind, seconds: number): Promise<void> {
    let wait = seconds;
    const { workflowId, runId } = workflowInfo();
    while (!(await condition(() => this.turn, wait * 1000))) {
      const checked = await admissionChecks.ensureAdmitted({ projectId, kind, workflowId, runId });
      if (!checked.listed) log.warn('the coordinator had lost this queued run: admitted again', { ...checked });
      wait = Math.min(wait * 2, seconds * TURN_CHECK_GROWTH);
    }
  }

  /** Direct admission; a submission the coordinator refuses as invalid (e.g. a too long workflow ID) is recorded. */
  private async admitDirectly(projectId: string, kind: RunKind, ifBusy: IfBusy): Promise<AdmitExternalRunResult> {
    try {
      return await admitStartedDirectly(projectId, kind, ifBusy);
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== 'InvalidInput') throw err;
      const reason = `the project's coordinator refused to admit this run: ${cause.message}`;
      this.progress.queued = false;
      this.finish('refused', reason);
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message: `${reason}; this run was started directly, so it ends without touching the project`,
        nonRetryable: true,
      });
    }
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
