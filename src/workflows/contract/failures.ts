/** The failures a workflow ends with when it cannot go ahead as asked. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** A refusal: the run cannot go ahead as asked, nothing was changed, and retrying will not help. */
export function refuse(message: string, type = 'Refused', details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}

/**
 * Neon's refusal of a request for a plan limit (a quota answer to a snapshot or a restore) met in the middle of a run,
 * as a refusal naming the limit: Neon's answer is authoritative where the worker's figures were wrong or unknown. Only
 * for a run whose own undo has put everything back; null for any other failure.
 */
export function limitRefusal(err: unknown): ApplicationFailure | null {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== 'NeonQuotaExceeded') return null;
  const [limit, type] = /\/restore failed|\/branches failed/.test(cause.message)
    ? ['root branches', 'RootBranchLimit']
    : /\/snapshot failed/.test(cause.message)
      ? ['manual snapshots', 'SnapshotQuota']
      : ['its plan', 'Refused'];
  return refuse(
    `Neon refused the run for the plan's limit of ${limit} (${cause.message}); what the run had made is undone`,
    type,
  );
}
