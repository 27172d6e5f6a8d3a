import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { validated } from './errors';
import { NeonOutcome, NeonPhase } from '../temporal/search-attributes';
import { neonId } from '../workflows/contract/inputs';

/** One run of a project as Temporal's visibility store sees it (eventually consistent: a second or so behind). */
export type RunSummary = {
  workflowId: string;
  runId: string;
  /** The workflow type: promote, refreshDev, rollback, setupEnvironments, janitor, createPreview, scheduledRun, ... */
  type: string;
  /**
   * Temporal's execution status (RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW), or
   * REFUSED for a run that ended without changing anything: refused (Temporal: FAILED) or a promotion aborted before
   * its swap (Temporal: COMPLETED).
   */
  status: string;
  /** Temporal's own execution status, REFUSED runs included. */
  temporalStatus: string;
  /** The NeonOutcome search attribute (promoted, rolled_back, aborted, ...), null while running. */
  outcome: string | null;
  /** The NeonPhase search attribute: the current step, "queued" or "done". */
  phase: string | null;
  startTime: string;
  closeTime: string | null;
};

export type ListRunsOptions = {
  /** At most this many runs, newest first (default 50). */
  limit?: number;
  /** Only runs of this workflow type. */
  type?: string;
};

export const listOptions = z.object({
  limit: z.number().int().min(1).max(1000).default(50),
  type: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,99}$/, 'expected a workflow type name')
    .optional(),
});

/**
 * The project's runs, newest first. The per-project coordinator is left out: it is plumbing, not a run. IDs are
 * validated before they reach the query, so nothing a caller passes can change its meaning.
 */
export async function listRuns(
  temporal: Client,
  projectId: string,
  options: ListRunsOptions = {},
): Promise<RunSummary[]> {
  const id = validated(z.object({ projectId: neonId }), { projectId }).projectId;
  const { limit, type } = validated(listOptions, options);
  const clauses = [`NeonProjectId = '${id}'`, `WorkflowType != 'projectCoordinator'`];
  if (type) clauses.push(`WorkflowType = '${type}'`);
  const runs: RunSummary[] = [];
  for await (const info of temporal.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
    const outcome = info.typedSearchAttributes.get(NeonOutcome) ?? null;
    runs.push({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      status: statusOf(info.status.name, outcome),
      temporalStatus: info.status.name,
      outcome,
      phase: info.typedSearchAttributes.get(NeonPhase) ?? null,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
    });
    if (runs.length >= limit) break;
  }
  // Visibility orders by start time already on most stores; sorting again makes "newest first" a promise, not luck.
  return runs.sort((a, b) => b.startTime.localeCompare(a.startTime));
}

/** REFUSED for a run that ended without changing anything (see RunSummary.status), else Temporal's status. */
export function statusOf(temporalStatus: string, outcome: string | null | undefined): string {
  return outcome === 'refused' || outcome === 'aborted' ? 'REFUSED' : temporalStatus;
}
