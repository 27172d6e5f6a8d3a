/**
 * What a Temporal Schedule starts (a schedule can only start workflows): it submits the real run (dev refresh or
 * janitor) through the project's coordinator, as a client would, and waits for it to end. So a scheduled run that
 * meets a promotion of the same project waits for it (ifBusy 'queue') or is skipped (ifBusy 'refuse'), and never
 * overlaps it; and because this workflow lasts as long as its run, the schedule's overlap policy SKIP also skips a
 * firing while the previous scheduled run is still queued or running.
 */
import { ApplicationFailure, CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import { runWaits, runs } from '../runtime/activity-options';
import type { IfBusy } from '../contract/definitions';
import { Run } from '../runtime/run';

export type ScheduledRunInput = {
  kind: 'refresh' | 'janitor';
  projectId: string;
  /** The run's input (RefreshInput or JanitorInput); the run validates it. */
  input: Record<string, unknown>;
  ifBusy: IfBusy;
};

export type ScheduledRunResult = {
  /** 'refused': skipped because the project was busy; otherwise the run's own outcome. */
  outcome: string;
  /** The run this firing submitted (absent when refused). */
  runWorkflowId: string | null;
  reason: string | null;
};

export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const run = new Run('scheduledRun');
  run.begin(input.projectId);
  // Temporal appends the firing time to a scheduled workflow's ID, so this is unique per firing and stable on retry.
  const runWorkflowId = `${workflowInfo().workflowId}-${input.kind}`;
  const submitted = await run.step('submit', async (step) => {
    const submitted = await runs.submitRun({
      kind: input.kind,
      workflowId: runWorkflowId,
      input: { ...input.input, projectId: input.projectId },
      ifBusy: input.ifBusy,
      summary: `scheduled ${input.kind} of project ${input.projectId}`,
    });
    step.detail = submitted.admitted
      ? `${runWorkflowId}${submitted.position > 0 ? ` queued behind ${submitted.position} run(s)` : ''}`
      : `skipped: ${submitted.reason}`;
    if (submitted.admitted) step.ids.workflowId = runWorkflowId;
    return submitted;
  });
  if (!submitted.admitted) {
    run.finish('refused', submitted.reason);
    return { outcome: 'refused', runWorkflowId: null, reason: submitted.reason };
  }
  try {
    const ended = await run.step('await_run', () => runWaits.awaitRun({ workflowId: runWorkflowId }));
    if (ended.status === 'failed') {
      run.finish('failed', ended.reason);
      throw ApplicationFailure.create({
        type: 'ScheduledRunFailed',
        message: `${runWorkflowId} failed: ${ended.reason ?? 'see its history'}`,
        nonRetryable: true,
      });
    }
    run.finish(ended.outcome ?? 'noop', ended.reason);
    return { outcome: ended.outcome ?? 'noop', runWorkflowId, reason: ended.reason };
  } catch (err) {
    // Cancelling the scheduled firing (e.g. from the UI) cancels the run it started; the run compensates itself.
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => runs.cancelRun({ workflowId: runWorkflowId }));
      run.finish('cancelled', 'cancelled while waiting for its run');
    }
    throw err;
  }
}
