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
import { fromSubmitError, InvalidInputError, ProjectBusyError } from '../../client/errors';
import { coordinatorStart } from '../../client/admission';
import { NeonPhase, NeonProjectId } from '../../temporal/search-attributes';
import {
  RUN_KIND_WORKFLOW_TYPES,
  coordinatorStateQuery,
  coordinatorWorkflowId,
  submitUpdate,
  turnSignal,
} from '../../workflows/contract/definitions';
import type { AdmissionActivities, OpenRun } from '../contract';

/** More open runs of one project than this means something else is wrong; the coordinator recovers the first ones. */
const MAX_OPEN_RUNS = 100;

export type AdmissionDeps = {
  /** Default: the worker's own client (Context.current().client), bound to its namespace. */
  client?: () => Client;
};

export function admissionActivities(deps: AdmissionDeps = {}): AdmissionActivities {
  const client = deps.client ?? (() => Context.current().client);

  /** Resolves when this execution has closed, however it closed. */
  async function closed(workflowId: string, runId: string): Promise<void> {
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
  }

  /** The run a Temporal reset of this closed execution made (the latest, if it was reset more than once), if any. */
  async function resetSuccessor(workflowId: string, runId: string): Promise<string | null> {
    const described = await client()
      .workflow.getHandle(workflowId, runId)
      .describe()
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return null; // deleted by retention
        throw err;
      });
    const next = described?.raw.workflowExtendedInfo?.resetRunId;
    return next && next !== runId ? next : null;
  }
  return {
    /**
     * Submits the calling run to its project's coordinator (started if it is not running). A busy project refuses it
     * only when it asked to be refused; an earlier attempt's admission is found again by its update ID.
     */
    async admitExternalRun(req) {
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
        const admission = await Promise.race([submitted, Context.current().cancelled]);
        return { admitted: true, position: admission.position };
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

    /**
     * A queued run that has waited long for its turn checks that its project's coordinator still lists it (a query: no
     * event in the coordinator's history). A coordinator that was terminated, reset or otherwise lost its queue does
     * not: the run is then submitted again as an external entry keyed by its run ID, which starts a coordinator if none
     * runs (a fresh one first recovers the project's open runs, see openRunsOf) and is idempotent.
     */
    async ensureAdmitted(req) {
      const { projectId, workflowId, runId } = req;
      const coordinator = client().workflow.getHandle(coordinatorWorkflowId(projectId));
      const described = await coordinator.describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      });
      if (described?.status.name === 'RUNNING') {
        // This execution, not a later one: a closed coordinator still answers queries with its last state.
        const state = await client()
          .workflow.getHandle(coordinatorWorkflowId(projectId), described.runId)
          .query(coordinatorStateQuery);
        if (state.active === workflowId || state.queued.includes(workflowId)) return { listed: true };
      }
      const admission = await Promise.race([
        client().workflow.executeUpdateWithStart(submitUpdate, {
          args: [{ kind: req.kind, workflowId, input: null, ifBusy: 'queue', external: { runId }, readmit: true }],
          updateId: `readmit-${runId}-${Context.current().info.activityId}`,
          startWorkflowOperation: coordinatorStart(projectId, Context.current().info.taskQueue),
        }),
        Context.current().cancelled,
      ]);
      return { listed: false, position: admission.position };
    },

    /**
     * The project's open mutating runs, the ones past their turn first, then the queued ones by start time: what a
     * coordinator started afresh (its predecessor terminated or lost) queues before anything submitted to it, so a run
     * still holding the project is waited for and no run overlaps it.
     */
    async openRunsOf({ projectId }) {
      const types = Object.values(RUN_KIND_WORKFLOW_TYPES)
        .map((type) => `'${type}'`)
        .join(', ');
      // Run inputs admit only Neon IDs ([a-z0-9-]); anything else cannot name a run of ours (nor be quoted unsafely).
      if (!/^[\w-]+$/.test(projectId)) return [];
      const query = `${NeonProjectId.name} = '${projectId}' AND ExecutionStatus = 'Running' AND WorkflowType IN (${types})`;
      const found: (OpenRun & { startTime: number })[] = [];
      for await (const execution of client().workflow.list({ query })) {
        found.push({
          workflowId: execution.workflowId,
          runId: execution.runId,
          queued: execution.typedSearchAttributes.get(NeonPhase) === 'queued',
          startTime: execution.startTime.getTime(),
        });
        if (found.length >= MAX_OPEN_RUNS) break;
      }
      found.sort((a, b) => Number(a.queued) - Number(b.queued) || a.startTime - b.startTime);
      return found.map(({ workflowId, runId, queued }) => ({ workflowId, runId, queued }));
    },

    /**
     * Resolves when the run has closed, however it closed (completed, failed, cancelled, terminated, timed out), and
     * so has any run a Temporal reset made of it. Runs are not followed otherwise: a retried execution starts from the
     * beginning, a run of its own that asks for its own admission (and awaiting it here would wait for a run that waits
     * for its turn). A reset instead ends the run and goes on from the reset point with the signals after it reapplied,
     * the turn among them: the new run holds the project as the old one did, so it is granted the turn (a run reset to
     * before its admission then goes at once, and its own entry is skipped later, closed) and awaited too.
     */
    async awaitExternalRun({ workflowId, runId }) {
      for (let current: string | null = runId; current; current = await resetSuccessor(workflowId, current)) {
        if (current !== runId) {
          await client()
            .workflow.getHandle(workflowId, current)
            .signal(turnSignal)
            .catch((err: unknown) => {
              // Closed already: awaiting it returns at once.
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            });
        }
        await closed(workflowId, current);
      }
    },
  };
}
