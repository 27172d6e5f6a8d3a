/**
 * What a run leaves behind and must not keep: what it made and no longer needs (deleted), the branch a swap replaced
 * (kept as a backup until it expires), and a write fence a restored snapshot carries (lifted). A delete whose Neon
 * operation failed is sent again by the `cleanup` option set's retry policy.
 */
import { log } from '@temporalio/workflow';
import type { DatabaseRef } from '../contract/database-ref';
import { isoAfter } from '../contract/names';
import { cleanup, compensations, neonMutations } from '../runtime/activity-options';

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
 * Gives a replaced branch an expiry so Neon deletes it after `retentionMs`. Neon refuses an expiry on a branch with
 * children (previews of an old dev): that backup is left to the janitor, and the run says so in its log.
 */
export async function retireBackup(projectId: string, branchId: string, retentionMs: number): Promise<string | null> {
  const expiresAt = isoAfter(Date.now(), retentionMs);
  try {
    await neonMutations.updateBranch({ projectId, branchId, protected: false, expiresAt });
    return expiresAt;
  } catch (err) {
    log.warn('backup branch kept without expiry (the janitor will delete it)', { branchId, error: String(err) });
    return null;
  }
}

/** Lifts a write fence from the branch that has this name now; nothing happens when there is none. */
export async function liftFenceOf(database: DatabaseRef, branchName: string): Promise<void> {
  const { projectId, databaseName, roleName } = database;
  await compensations.liftFence({ projectId, databaseName, roleName, branchName });
}
