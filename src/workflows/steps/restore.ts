/** Swapping a snapshot in for a branch: restore next to it, then finalize in its place. */
import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { SENDS_AFTER_FAILED_OPERATION } from '../../shared/failure-types';
import { compensations, neonMutations } from '../runtime/activity-options';

/** A finalized restore: the branch that now serves the target's name and endpoints, and the one it replaced. */
export type Swap = { restoredBranchId: string; replacedBranchId: string };

/**
 * Restores a snapshot onto a branch in two idempotent halves: a preview branch with a deterministic name (found by
 * lineage on retry), then finalize, naming the replaced branch `names.old` so the backup is ours and findable.
 */
export async function restoreOnto(
  projectId: string,
  snapshotId: string,
  targetBranchId: string,
  names: { restored: string; old: string },
): Promise<Swap> {
  const restored = await neonMutations.restoreSnapshot({
    projectId,
    snapshotId,
    targetBranchId,
    finalize: false,
    name: names.restored,
  });
  return finalizeOnto(projectId, restored.branch.id, targetBranchId, names.old);
}

/**
 * `restoreOnto` for a compensation that puts prod back (a promotion's rollback, the migrations strategy's anchor): tried
 * again after a failed Neon operation (this restore is the way back for prod's own data), with pauses of 1 s, 2 s, 4 s ... up to 30 s. Each try is idempotent: the
 * restored branch is found by its name, and a finalize that did happen leaves nothing to redo.
 */
export async function restoreBack(
  projectId: string,
  snapshotId: string,
  targetBranchId: string,
  names: { restored: string; old: string },
): Promise<Swap> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await restoreOnto(projectId, snapshotId, targetBranchId, names);
    } catch (err) {
      if (attempt >= SENDS_AFTER_FAILED_OPERATION || !isFailedOperation(err)) throw err;
      await sleep(Math.min(30_000, 1000 * 2 ** (attempt - 1)));
    }
  }
}

const isFailedOperation = (err: unknown): boolean =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'OperationFailed';

/**
 * Finalizes a restored branch in place of its target and waits until it serves the target's endpoints.
 * `firstExecution`: the caller's run is its workflow's first execution and made the branch itself (see Promotion).
 * `deleteEndpointId`: the restored branch's own read-write endpoint, deleted first in the same activity (the finalize
 * moves the target's to the branch, and a branch has one).
 */
export async function finalizeOnto(
  projectId: string,
  restoredBranchId: string,
  targetBranchId: string,
  oldName: string,
  firstExecution = false,
  deleteEndpointId?: string,
): Promise<Swap> {
  const finalized = await neonMutations.finalizeRestore({
    projectId,
    branchId: restoredBranchId,
    oldBranchName: oldName,
    ...(firstExecution ? { firstExecution: true } : {}),
    ...(deleteEndpointId ? { deleteEndpointId } : {}),
  });
  return { restoredBranchId, replacedBranchId: finalized.replacedBranchId ?? targetBranchId };
}

/**
 * Whether a restored branch already stands in for its target (the truth after an interrupted swap). A branch that
 * reads `detaching` may be restored or finalized (Neon's BranchRestoreStatus); the finalize moved the target's
 * computes to it, so it stands in if it has them and its target has none (or is gone). Only then is the target read.
 */
export async function isFinalized(projectId: string, branchId: string): Promise<boolean> {
  const branch = await compensations.getBranch({ projectId, branchId });
  if (branch?.restoreStatus !== 'detaching') return branch?.restoreStatus === 'finalized';
  if (!branch.restoredAs) return false;
  const target = await compensations.getBranch({ projectId, branchId: branch.restoredAs });
  return !target || (target.endpoints.length === 0 && branch.endpoints.length > 0);
}
