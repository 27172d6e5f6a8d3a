import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { activity } from '../failures';
import { neonId } from '../inputs';
import type { PreviewRun, PreviewRunActivities } from '../contract';

/** How many createPreview runs findPreviewRuns reads (newest first), and how many results it fetches at once. */
const PREVIEW_RUNS_LIMIT = 1000;
const RESULT_FETCHES_AT_ONCE = 16;

export function previewRunActivities() {
  return {
    /**
     * The branches the project's completed createPreview runs made, from Temporal (the worker's own client):
     * visibility lists the runs, each run's result names its branch. Visibility is a second or so behind, so a run
     * that just ended may be missing. A run whose history retention deleted tells nothing and is left out.
     */
    findPreviewRuns: activity(z.object({ projectId: neonId }), async ({ projectId }) => {
      const temporal = Context.current().client;
      const query = `NeonProjectId = '${projectId}' AND WorkflowType = 'createPreview' AND ExecutionStatus = 'Completed'`;
      const runs: { workflowId: string; runId: string }[] = [];
      for await (const info of temporal.workflow.list({ query, pageSize: 100 })) {
        runs.push({ workflowId: info.workflowId, runId: info.runId });
        if (runs.length >= PREVIEW_RUNS_LIMIT) break;
      }
      const found: PreviewRun[] = [];
      for (let i = 0; i < runs.length; i += RESULT_FETCHES_AT_ONCE) {
        await Promise.all(
          runs.slice(i, i + RESULT_FETCHES_AT_ONCE).map(async ({ workflowId, runId }) => {
            // Only a run that retention deleted is skipped: any other failure to read a result fails the
            // listing (and is retried) instead of showing neon-promote's preview as made by someone else.
            const result = (await temporal.workflow
              .getHandle(workflowId, runId, { followRuns: false })
              .result()
              .catch((err: unknown) => {
                if (err instanceof WorkflowNotFoundError) return undefined;
                throw err;
              })) as { branchId?: unknown } | undefined;
            if (typeof result?.branchId === 'string') found.push({ branchId: result.branchId, workflowId });
          }),
        );
      }
      return found.sort((a, b) => (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0));
    }),
  } satisfies PreviewRunActivities;
}
