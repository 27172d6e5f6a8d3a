/**
 * A run's turn: a mutating run of a project goes only once the project's coordinator grants it (the earlier runs of
 * the project are done). A run the coordinator started is admitted already; a run started directly asks to be admitted
 * first (admission.ts). While it waits, the run checks now and then that the coordinator still lists it.
 */
import { ActivityFailure, ApplicationFailure, condition, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AdmitExternalRunResult } from '../../activities/contract';
import { coordinatorWorkflowId, turnSignal, type IfBusy, type RunKind } from '../contract/definitions';
import { admissionChecks } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import { admitStartedDirectly, ifBusyOf, refusedFailure, runKindOf } from './admission';

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

/**
 * Waits until the project's coordinator grants `run` its turn. A run started directly asks the coordinator to admit
 * it first, honouring `ifBusy` from its raw input (default 'queue'), and ends at once, non-retryable, when it is
 * refused. Called before the run's first await: a turn signalled before the handler below is set is buffered by the
 * SDK until then, so it is not lost.
 */
export async function waitForTurn(run: Run, raw?: unknown): Promise<void> {
  let granted = false;
  setHandler(turnSignal, () => void (granted = true));
  const projectId = run.progress.projectId;
  const kind = runKindOf(run.workflowType);
  if (!projectId || !kind) return;
  // Checked before admission, so a bad value fails the run before it is queued.
  const checkSeconds = turnCheckSecondsOf(raw);
  if (workflowInfo().parent?.workflowId !== coordinatorWorkflowId(projectId)) {
    const ifBusy = ifBusyOf(raw);
    run.enterQueue();
    const admitted = await admitDirectly(run, projectId, kind, ifBusy);
    if (!admitted.admitted) {
      run.leaveQueue();
      run.finish('refused', admitted.reason);
      throw refusedFailure(admitted.reason, ifBusy);
    }
  }
  if (!granted) {
    run.enterQueue();
    await waitCheckingAdmission(() => granted, projectId, kind, checkSeconds);
  }
  run.leaveQueue();
}

/**
 * Waits for the turn, checking now and then that the coordinator still lists this run: one that was terminated or
 * reset while the run waited would never grant it, and a fresh one would not know it. Not listed, the run is
 * submitted again (an external entry keyed by its run ID, which the coordinator accepts once).
 */
async function waitCheckingAdmission(
  granted: () => boolean,
  projectId: string,
  kind: RunKind,
  seconds: number,
): Promise<void> {
  let wait = seconds;
  const { workflowId, runId } = workflowInfo();
  while (!(await condition(granted, wait * 1000))) {
    const checked = await admissionChecks.ensureAdmitted({ projectId, kind, workflowId, runId });
    if (!checked.listed) log.warn('the coordinator had lost this queued run: admitted again', { ...checked });
    wait = Math.min(wait * 2, seconds * TURN_CHECK_GROWTH);
  }
}

/** Direct admission; a submission the coordinator refuses as invalid (e.g. a too long workflow ID) is recorded. */
async function admitDirectly(
  run: Run,
  projectId: string,
  kind: RunKind,
  ifBusy: IfBusy,
): Promise<AdmitExternalRunResult> {
  try {
    return await admitStartedDirectly(projectId, kind, ifBusy);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (!(cause instanceof ApplicationFailure) || cause.type !== 'InvalidInput') throw err;
    const reason = `the project's coordinator refused to admit this run: ${cause.message}`;
    run.leaveQueue();
    run.finish('refused', reason);
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: `${reason}; this run was started directly, so it ends without touching the project`,
      nonRetryable: true,
    });
  }
}
