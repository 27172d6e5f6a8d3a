import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActivityDeps } from '../deps';
import { activity } from '../failures';
import { neonId, resourceName } from '../inputs';
import { backupActivities } from './backups';
import { branchActivities } from './branches';
import { snapshotActivities } from './snapshots';
import type { CleanUpSwapResult, NeonActivities } from '../contract';

/** A failure retrying cannot change (a refusal, an operation that failed too often): the part's answer. */
const finalFailure = (err: unknown): string | null =>
  err instanceof ApplicationFailure && err.nonRetryable ? err.message : null;

/**
 * A swap's clean-up as one activity, one Temporal round trip instead of four. Each part is its own activity's body, run
 * in turn (each waits for its operations before the next is sent), so each is as idempotent as that activity: a delete
 * of what is gone is done, the rename reads first on a retry and sends nothing when the name is set, the backup's
 * expiry is an absolute value counted from when it is sent. A retry after a crash anywhere inside runs every part
 * again and finishes what is left: the deletes and the rename take effect once, and an expiry sent again replaces the
 * one before, counted from its own send.
 *
 * A part that fails for a passing reason fails the attempt (the `cleanup` option set retries it), and so does a delete
 * whose operation failed, up to SENDS_AFTER_FAILED_OPERATION attempts of this activity. A failure for good means what
 * it meant when each part was a step of its own: the fork point's branch (a compensation before) is left and reported,
 * the rename's and the old fork point's delete's fail the activity, and a refused expiry keeps the backup, reported.
 */
export function swapCleanupActivities(deps: ActivityDeps) {
  const { deleteBranch } = branchActivities(deps);
  const { updateSnapshot, deleteSnapshot } = snapshotActivities(deps);
  const { retireBackup } = backupActivities(deps);
  return {
    cleanUpSwap: activity(
      z.object({
        projectId: neonId,
        forkBaseBranchId: neonId.optional(),
        forkPoint: z.object({ snapshotId: neonId, name: resourceName }),
        previousForkPointId: neonId.optional(),
        backup: z.object({
          branchId: neonId,
          servingBranchId: neonId,
          retentionMs: z.number().int().positive(),
        }),
      }),
      async ({ projectId, forkBaseBranchId, forkPoint, previousForkPointId, backup }): Promise<CleanUpSwapResult> => {
        let forkBaseLeft: string | null = null;
        if (forkBaseBranchId) {
          try {
            await deleteBranch({ projectId, branchId: forkBaseBranchId });
          } catch (err) {
            forkBaseLeft = finalFailure(err);
            if (forkBaseLeft === null) throw err;
          }
        }
        const { snapshot } = await updateSnapshot({
          projectId,
          snapshotId: forkPoint.snapshotId,
          name: forkPoint.name,
        });
        if (previousForkPointId && previousForkPointId !== forkPoint.snapshotId)
          await deleteSnapshot({ projectId, snapshotId: previousForkPointId });
        let backupExpiresAt: string | null = null;
        let backupKept: string | null = null;
        try {
          backupExpiresAt = (await retireBackup({ projectId, ...backup })).expiresAt;
        } catch (err) {
          backupKept = finalFailure(err);
          if (backupKept === null) throw err;
        }
        return { forkPoint: snapshot, forkBaseLeft, backupExpiresAt, backupKept };
      },
    ),
  } satisfies Partial<NeonActivities>;
}
