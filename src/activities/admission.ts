/**
 * Admission of runs started directly (Temporal UI "start workflow", `temporal workflow start`, another service's own
 * client) instead of through NeonPromoteClient. Such a run asks the project's coordinator to admit it as an external
 * entry with the same update-with-start a client sends, so the coordinator's validator decides atomically whether it
 * waits its turn or is refused; the coordinator then learns that the run ended by awaiting its result here, so a run
 * that is terminated (and never reports back) does not hold the project.
 */
import { Context } from '@temporalio/activity';
import {
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { fromSubmitError, InvalidInputError, ProjectBusyError } from '../client-errors';
import { coordinatorStart } from '../coordinator-start';
import { submitUpdate, type IfBusy, type RunKind } from '../workflows/definitions';

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

export type AdmissionDeps = {
  /** Default: the worker's own client (Context.current().client), bound to its namespace. */
  client?: () => Client;
};

export function admissionActivities(deps: AdmissionDeps = {}) {
  const client = deps.client ?? (() => Context.current().client);
  return {
    /**
     * Submits the calling run to its project's coordinator (started if it is not running). A busy project refuses it
     * only when it asked to be refused; an earlier attempt's admission is found again by its update ID.
     */
    async admitExternalRun(req: AdmitExternalRunInput): Promise<AdmitExternalRunResult> {
      const { projectId } = req;
      const submitted = client().workflow.executeUpdateWithStart(submitUpdate, {
        args: [
          {
            kind: req.kind,
            workflowId: req.workflowId,
            input: null,
            ifBusy: req.ifBusy,
            external: { runId: req.runId },
          },
        ],
        updateId: `admit-${req.runId}`,
        startWorkflowOperation: coordinatorStart(projectId, Context.current().info.taskQueue),
      });
      try {
        // The update's long poll does not see the activity's abort signal; the race lets a worker shut down.
        const r = await Promise.race([submitted, Context.current().cancelled]);
        return { admitted: true, position: r.position };
      } catch (err) {
        // The coordinator's refusals, read as the client reads them.
        const refusal = fromSubmitError(err, projectId);
        if (refusal instanceof ProjectBusyError)
          return { admitted: false, reason: refusal.message, activeWorkflowId: refusal.activeWorkflowId };
        if (refusal instanceof InvalidInputError)
          throw ApplicationFailure.create({ type: 'InvalidInput', message: refusal.message, nonRetryable: true });
        // AlreadySubmitted: an earlier, closed execution with this workflow ID is still listed; retried until the
        // coordinator reaches it and sees it ended. Anything else (the coordinator continuing as new, a lost
        // connection) is retried too.
        throw err;
      }
    },

    /** Resolves when the run has closed, however it closed (completed, failed, cancelled, terminated, timed out). */
    async awaitExternalRun({ workflowId, runId }: { workflowId: string; runId: string }): Promise<void> {
      // Not following runs: a retried execution is a run of its own, which asks for its own admission.
      const handle = client().workflow.getHandle(workflowId, runId, { followRuns: false });
      try {
        await Promise.race([handle.result(), Context.current().cancelled]);
      } catch (err) {
        if (
          err instanceof WorkflowFailedError ||
          err instanceof WorkflowContinuedAsNewError ||
          err instanceof WorkflowNotFoundError
        )
          return;
        throw err;
      }
    },
  };
}

export type AdmissionActivities = ReturnType<typeof admissionActivities>;
