/**
 * What a run leaves behind and must not keep: what it made and no longer needs (deleted), the branch a swap replaced
 * (kept as a backup until it expires), and a write fence a restored snapshot carries (lifted). A delete whose Neon
 * operation failed is sent again by the `cleanup` option set's retry policy.
 */
import { log } from '@temporalio/workflow';
import type { DatabaseRef } from '../contract/database-ref';
import type { ForkPoint } from '../contract/definitions';
import { resourceName } from '../contract/names';
import { cleanup, compensations, neonMutations } from '../runtime/activity-options';
import type { Swap } from './restore';

export async function deleteSnapshot(projectId: string, snapshotId: string): Promise<void> {
  await cleanup.deleteSnapshot({ projectId, snapshotId });
}

export async function deleteBranch(projectId: string, branchId: string): Promise<void> {
  await cleanup.deleteBranch({ projectId, branchId });
}

export async function deleteEndpoint(projectId: string, endpointId: string): Promise<void> {
  await cleanup.deleteEndpoint({ projectId, endpointId });
}

/**
 * Gives a replaced branch (the backup) an expiry so Neon deletes it `retentionMs` after the request. Where the finalize
 * left the project's default flag on it (Neon does not say whether the flag moves), the flag first goes to
 * `servingBranchId`, the branch that took its place: Neon refuses an expiry on, and a delete of, the default branch.
 * Neon refuses an expiry on a branch with children too (previews of an old dev): that backup stays until an operator
 * deletes it (the janitor lists it as skipped, never deletes a backup without expiry), and the run says so in its log.
 */
export async function retireBackup(
  projectId: string,
  branchId: string,
  servingBranchId: string,
  retentionMs: number,
): Promise<string | null> {
  try {
    return (await neonMutations.retireBackup({ projectId, branchId, servingBranchId, retentionMs })).expiresAt;
  } catch (err) {
    log.warn('backup branch kept without expiry: delete it once done with it', { branchId, error: String(err) });
    return null;
  }
}

/**
 * After a swap that forked prod and dev anew (prod is the snapshot dev went on from), in one activity: the branch the
 * fork point was restored to for counting prod's writes is deleted (`forkBaseBranchId`), `snapshotId` becomes the fork
 * point (adoptForkPoint's rename, and the one before it deleted), and the replaced branch gets its expiry
 * (retireBackup's rules). What the activity could not do for good, the run logs: the fork point's branch as a failed
 * compensation (an operator deletes it), the previous fork point as left (the janitor deletes superseded fork points),
 * the backup as kept without expiry.
 */
export async function cleanUpSwap(
  projectId: string,
  swap: Swap,
  fork: { snapshotId: string; workflowId: string; previous: ForkPoint | null; baseBranchId?: string },
  retentionMs: number,
): Promise<{ forkPoint: ForkPoint; expiresAt: string | null }> {
  const { snapshotId, workflowId, previous, baseBranchId } = fork;
  const done = await cleanup.cleanUpSwap({
    projectId,
    ...(baseBranchId ? { forkBaseBranchId: baseBranchId } : {}),
    forkPoint: { snapshotId, name: resourceName('fork', workflowId) },
    ...(previous && previous.snapshotId !== snapshotId ? { previousForkPointId: previous.snapshotId } : {}),
    backup: { branchId: swap.replacedBranchId, servingBranchId: swap.restoredBranchId, retentionMs },
  });
  if (done.forkBaseLeft)
    log.error('compensation failed', { compensation: 'delete_fork_base', error: done.forkBaseLeft });
  if (done.backupKept) {
    const { replacedBranchId: branchId } = swap;
    log.warn('backup branch kept without expiry: delete it once done with it', { branchId, error: done.backupKept });
  }
  if (done.previousForkPointLeft)
    log.warn('superseded fork point left (the janitor deletes it)', {
      snapshotId: previous?.snapshotId,
      error: done.previousForkPointLeft,
    });
  const { id, name, createdAt } = done.forkPoint;
  return { forkPoint: { snapshotId: id, name, createdAt }, expiresAt: done.backupExpiresAt };
}

/**
 * A backup kept on purpose, without expiry: it does not keep the project's default flag either, which goes to the
 * branch serving in its place (one read of the backup; a second call only where the flag stayed on it).
 */
export async function keepBackup(projectId: string, branchId: string, servingBranchId: string): Promise<void> {
  try {
    await neonMutations.retireBackup({ projectId, branchId, servingBranchId, retentionMs: null });
  } catch (err) {
    log.warn('the default flag stays on the kept backup branch', { branchId, error: String(err) });
  }
}

/** Lifts a write fence from the branch that has this name now; nothing happens when there is none. */
export async function liftFenceOf(database: DatabaseRef, branchName: string): Promise<void> {
  const { projectId, databaseName, roleName } = database;
  await compensations.liftFence({ projectId, databaseName, roleName, branchName });
}
