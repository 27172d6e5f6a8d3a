/**
 * A rollback snapshot's retention starts once its run can no longer need it. The run takes the snapshot without
 * expiry: an expiry set when it is taken may fall while the run can still roll prod back to it (a slow verification,
 * migrations that outlast the retention), and Neon would then delete the only copy of pre-promotion prod. Neon gives a
 * snapshot an expiry only when it is taken, so a timer deletes it instead (environments/expire-snapshot.ts), at the
 * end of its retention counted from when it was taken, or at once when that has passed. A run that ends before it
 * starts the timer (terminated, or its rollback failed and the snapshot is the way back) leaves the snapshot without
 * expiry, and the janitor never deletes a rollback snapshot for its age.
 */
import { log, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { SnapshotInfo } from '../../activities/contract';
import { isoAfter } from '../contract/names';
import { expireSnapshot } from '../environments/expire-snapshot';
import type { Run } from '../runtime/run';
import { shielded } from '../runtime/saga';

/** Starts the snapshot's retention; returns when it ends, or null when the timer could not be started. */
export async function retainRollbackSnapshot(
  run: Run,
  projectId: string,
  snapshot: Pick<SnapshotInfo, 'id' | 'createdAt'>,
  keepMs: number,
): Promise<string | null> {
  const at = isoAfter(Date.parse(snapshot.createdAt), keepMs);
  const workflowId = `${workflowInfo().workflowId}-rollback-expiry`;
  // Shielded: a cancelled run that rolled prod back still starts the retention of what it rolled back to.
  return shielded(() =>
    run.step('retain_rollback_snapshot', async (step) => {
      step.ids = { snapshotId: snapshot.id };
      try {
        await startChild(expireSnapshot, {
          workflowId,
          args: [{ projectId, snapshotId: snapshot.id, at }],
          // The timer outlives the run, which ends as soon as it no longer needs the snapshot.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        log.warn('rollback snapshot kept without expiry (its timer did not start)', {
          snapshotId: snapshot.id,
          error: String(err),
        });
        step.detail = `kept without expiry: ${String(err)}`;
        return null;
      }
      step.detail = `deleted at ${at} by ${workflowId}`;
      return at;
    }),
  );
}
