/**
 * Activities that let a workflow start a project's run the way a client does: through the project coordinator with
 * update-with-start (a workflow cannot send an update itself). The scheduled-run workflow uses them, so a schedule's
 * refresh or janitor queues behind, or is refused by, whatever run holds the project, and never overlaps it.
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NeonPromoteClient } from '../../client';
import { InvalidInputError, ProjectBusyError } from '../../client/errors';
import { progressQuery } from '../../workflows/contract/definitions';
import type { AwaitRunResult, RunActivities } from '../contract';

export type RunActivityDeps = {
  /** Default: the worker's own client (Context.current().client), bound to its namespace. */
  client?: () => Client;
};

export function createRunActivities(deps: RunActivityDeps = {}): RunActivities {
  const client = deps.client ?? (() => Context.current().client);
  return {
    async submitRun(req) {
      const temporal = client();
      if (await exists(temporal, req.workflowId)) return { admitted: true, workflowId: req.workflowId, position: -1 };
      const promoteClient = await NeonPromoteClient.connect({
        client: temporal,
        taskQueue: Context.current().info.taskQueue,
      });
      const options = { workflowId: req.workflowId, ifBusy: req.ifBusy, summary: req.summary };
      try {
        const started: Promise<{ workflowId: string; position: number }> =
          req.kind === 'refresh'
            ? promoteClient.startRefresh(req.input as never, options)
            : promoteClient.startJanitor(req.input as never, options);
        // The update's long poll does not see the activity's abort signal; the race lets a worker shut down.
        const run = await Promise.race([started, Context.current().cancelled]);
        return { admitted: true, workflowId: run.workflowId, position: run.position };
      } catch (err) {
        if (err instanceof ProjectBusyError)
          return { admitted: false, reason: err.message, activeWorkflowId: err.activeWorkflowId };
        if (err instanceof InvalidInputError)
          throw ApplicationFailure.create({ type: 'InvalidInput', message: err.message, nonRetryable: true });
        throw err;
      }
    },

    /** Waits for the run to close (heartbeats come from the worker's interceptor), then reads its outcome. */
    async awaitRun({ workflowId }) {
      const handle = client().workflow.getHandle(workflowId);
      let status: AwaitRunResult['status'] = 'completed';
      let reason: string | null = null;
      try {
        await Promise.race([handle.result(), Context.current().cancelled]);
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        status = 'failed';
        reason = err.cause?.message ?? err.message;
      }
      const progress = await handle.query(progressQuery).catch(() => null);
      return { workflowId, status, outcome: progress?.outcome ?? null, reason: progress?.reason ?? reason };
    },

    /** Asks the run to stop (it compensates); a run that is already gone counts as done. */
    async cancelRun({ workflowId }) {
      await client()
        .workflow.getHandle(workflowId)
        .cancel()
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    },
  };
}

async function exists(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
