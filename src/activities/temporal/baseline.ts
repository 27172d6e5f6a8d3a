/**
 * The baseline refreshDev compares dev with: the fingerprint recorded by the project's latest completed promotion
 * (outcome promoted: the candidate's) or dev refresh (outcome refreshed: dev's right after it). Read from Temporal
 * itself (visibility, then the run's result), so nothing is stored in the project's databases, where it would show
 * up in schema diffs and be promoted.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { NeonOutcome } from '../../temporal/search-attributes';
import { activity } from '../failures';
import { neonId } from '../inputs';
import type { BaselineActivities, FingerprintBranchResult, RefreshBaseline } from '../contract';

export type BaselineActivityDeps = {
  /** Default: the worker's own client (Context.current().client), bound to its namespace. */
  client?: () => Client;
};

/** Enough of the recent runs to find the newest by close time whatever order the visibility store returns. */
const PAGE = 20;

export function baselineActivities(deps: BaselineActivityDeps = {}) {
  const client = deps.client ?? (() => Context.current().client);
  return {
    findRefreshBaseline: activity(
      z.object({ projectId: neonId }),
      async ({ projectId }): Promise<RefreshBaseline | null> => {
        const temporal = client();
        const self = Context.current().info.workflowExecution?.workflowId ?? '';
        await requireCaughtUp(temporal, projectId, self);
        const query =
          `NeonProjectId = '${projectId}' AND ExecutionStatus = 'Completed' AND ` +
          `WorkflowType IN ('promote', 'refreshDev') AND NeonOutcome IN ('promoted', 'refreshed')`;
        let latest: WorkflowExecutionInfo | undefined;
        let seen = 0;
        for await (const info of temporal.workflow.list({ query, pageSize: PAGE })) {
          if (!latest || (info.closeTime?.getTime() ?? 0) > (latest.closeTime?.getTime() ?? 0)) latest = info;
          if (++seen >= PAGE) break;
        }
        if (!latest) return null;
        const promotion = latest.typedSearchAttributes.get(NeonOutcome) === 'promoted';
        const result: unknown = await temporal.workflow
          .getHandle(latest.workflowId, latest.runId, { followRuns: false })
          .result();
        const fingerprint = (result as Record<string, unknown> | null)?.[
          promotion ? 'candidateFingerprint' : 'devFingerprint'
        ];
        return {
          kind: promotion ? 'last_promotion' : 'last_refresh',
          workflowId: latest.workflowId,
          runId: latest.runId,
          closedAt: latest.closeTime?.toISOString() ?? null,
          fingerprint: isFingerprint(fingerprint) ? fingerprint : null,
        };
      },
    ),
  } satisfies BaselineActivities;
}

/**
 * Visibility is eventually consistent: a promotion that just ended may still be listed as running. The caller holds
 * the project's turn, so a promote or refresh that visibility calls running but Temporal itself (describe) calls
 * closed means the list is behind: fail this attempt, and Temporal's retry asks again. A genuinely running one (queued
 * behind the caller, whether the client or a direct start submitted it) is no reason to wait.
 */
async function requireCaughtUp(temporal: Client, projectId: string, self: string): Promise<void> {
  const query = `NeonProjectId = '${projectId}' AND ExecutionStatus = 'Running' AND WorkflowType IN ('promote', 'refreshDev')`;
  for await (const info of temporal.workflow.list({ query })) {
    if (info.workflowId === self) continue;
    const { status } = await temporal.workflow.getHandle(info.workflowId, info.runId).describe();
    if (status.name !== 'RUNNING') {
      throw ApplicationFailure.create({
        type: 'VisibilityBehind',
        message: `run ${info.workflowId} has closed but is still listed as running; asking again`,
      });
    }
  }
}

function isFingerprint(value: unknown): value is FingerprintBranchResult {
  const fingerprint = value as Partial<FingerprintBranchResult> | null | undefined;
  return (
    typeof fingerprint?.hash === 'string' && Array.isArray(fingerprint.tables) && Array.isArray(fingerprint.schemas)
  );
}
