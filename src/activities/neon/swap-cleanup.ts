import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActivityDeps } from '../deps';
import { activity, currentContext } from '../failures';
import { neonId, resourceName } from '../inputs';
import { backupActivities } from './backups';
import { branchActivities } from './branches';
import { asPart } from './operations';
import { snapshotActivities } from './snapshots';
import type { CleanUpSwapResult, NeonActivities, SnapshotInfo } from '../contract';

/** A failure retrying cannot change (a refusal, an operation that failed too often): the part's answer. */
const finalFailure = (err: unknown): string | null =>
  err instanceof ApplicationFailure && err.nonRetryable ? err.message : null;

/** Null once `sent` is done, or why a final failure left its resource; a passing failure is thrown. */
const leftBy = (sent: Promise<unknown>): Promise<{ left: string | null }> =>
  sent.then(
    () => ({ left: null }),
    (err: unknown) => {
      const left = finalFailure(err);
      if (left === null) throw err;
      return { left };
    },
  );

/** What each part returned, once it has finished. */
type Finished = {
  forkBase?: { left: string | null };
  forkPoint?: { snapshot: SnapshotInfo };
  previousForkPoint?: { left: string | null };
  backup?: { expiresAt: string | null; kept: string | null };
};

/** The activity's heartbeat details: what a retried attempt does not do again. */
type Progress = {
  finished: Finished;
  /** Per part, its sends so far whose operation failed. */
  failedOperationSends: Partial<Record<keyof Finished, number>>;
};

/** The details an earlier attempt left (this activity's own: the worker adds no heartbeats of its own to them). */
function resumed(details: unknown): Progress {
  const earlier = (typeof details === 'object' && details !== null ? details : {}) as Partial<Progress>;
  return { finished: { ...earlier.finished }, failedOperationSends: { ...earlier.failedOperationSends } };
}

/** As often as the worker heartbeats other activities (src/worker/heartbeat.ts), well within the 5 s timeout. */
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * A swap's clean-up as one activity, one Temporal round trip instead of four. Each part is its own activity's body, run
 * in turn (each waits for its operations before the next is sent), so each is as idempotent as that activity: a delete
 * of what is gone is done, the rename reads first on a retry and sends nothing when the name is set, the backup's
 * expiry is an absolute value counted from when it is sent.
 *
 * The attempt's progress is its heartbeat details (this activity heartbeats itself: src/worker/heartbeat.ts): each
 * finished part with what it returned, and each part's sends whose operation failed. A retry returns a finished part's
 * answer without sending anything for it, and goes on with the rest. Temporal keeps an attempt's last details when it
 * fails; a worker killed before its last heartbeat reached the server leaves them older, and the retry then runs a
 * finished part again, which takes effect once (an expiry sent again replaces the one before, counted from its own
 * send).
 *
 * A part that fails for a passing reason fails the attempt (the `cleanup` option set retries it), and so does a delete
 * whose operation failed, up to SENDS_AFTER_FAILED_OPERATION sends of that part whose operation failed (its own count:
 * the attempt number also counts the other parts' failures, and failures of other kinds). A failure for good:
 * - of the fork point's branch's delete (a compensation before), or of the previous fork point's: the branch or
 *   snapshot is left, reported (`forkBaseLeft`, `previousForkPointLeft`, the latter also in the worker's log), and the
 *   rest is done: the clean_up step succeeds, as the swap has happened. A superseded fork point (an `np-fork-` that is
 *   not the newest) is the janitor's to delete; the fork point's branch is not, it stays until someone deletes it.
 * - of the rename (the candidate's snapshot is gone, say): fails the activity, and with it the clean_up step, as when
 *   the rename was a step of its own; the previous fork point's delete and the backup's expiry are not reached.
 * - of the backup's expiry (Neon refused it: the backup has a child, say): the backup is kept, reported (`backupKept`).
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
        const ctx = currentContext();
        const progress = resumed(ctx?.info.heartbeatDetails);
        const heartbeat = () => ctx?.heartbeat(progress);

        /** Runs a part unless an earlier attempt finished it, counting its sends whose operation failed. */
        async function once<K extends keyof Finished>(
          name: K,
          run: () => Promise<NonNullable<Finished[K]>>,
        ): Promise<NonNullable<Finished[K]>> {
          const earlier = progress.finished[name];
          if (earlier) return earlier;
          const failedOperationSends = progress.failedOperationSends[name] ?? 0;
          try {
            const answer = await asPart({ failedOperationSends, heartbeat }, run);
            progress.finished[name] = answer;
            return answer;
          } catch (err) {
            if (err instanceof ApplicationFailure && err.type === 'OperationFailed')
              progress.failedOperationSends[name] = failedOperationSends + 1;
            throw err;
          } finally {
            heartbeat();
          }
        }

        heartbeat();
        const timer = setInterval(heartbeat, HEARTBEAT_INTERVAL_MS);
        try {
          const forkBase = forkBaseBranchId
            ? await once('forkBase', () => leftBy(deleteBranch({ projectId, branchId: forkBaseBranchId })))
            : { left: null };
          const { snapshot } = await once('forkPoint', () =>
            updateSnapshot({ projectId, ...forkPoint }).then(({ snapshot }) => ({ snapshot })),
          );
          const previous =
            previousForkPointId && previousForkPointId !== forkPoint.snapshotId
              ? await once('previousForkPoint', () =>
                  leftBy(deleteSnapshot({ projectId, snapshotId: previousForkPointId })),
                )
              : { left: null };
          if (previous.left !== null)
            ctx?.log.warn('previous fork point left (the janitor deletes superseded fork points)', {
              snapshotId: previousForkPointId,
              error: previous.left,
            });
          const retired = await once('backup', () =>
            retireBackup({ projectId, ...backup }).then(
              ({ expiresAt }) => ({ expiresAt, kept: null }),
              (err: unknown) => {
                const kept = finalFailure(err);
                if (kept === null) throw err;
                return { expiresAt: null, kept };
              },
            ),
          );
          return {
            forkPoint: snapshot,
            forkBaseLeft: forkBase.left,
            previousForkPointLeft: previous.left,
            backupExpiresAt: retired.expiresAt,
            backupKept: retired.kept,
          };
        } finally {
          clearInterval(timer);
        }
      },
    ),
  } satisfies Partial<NeonActivities>;
}
