import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { CONNECTIVITY_CHECK, type PromoteOptions } from '../contract/inputs';
import { resourceName } from '../contract/names';
import type { Run } from '../runtime/run';
import type { PromoteResult } from './promote';
import type { PromotionPlan } from './plan';
import type { DatabaseRef } from '../contract/database-ref';
import { verify } from '../steps/checks';
import { deleteBranch, liftFenceOf, retireBackup } from '../steps/cleanup';
import { compensations } from '../runtime/activity-options';
import { type Swap, restoreBack } from '../steps/restore';

/**
 * The compensation of a swap: restore the rollback snapshot onto the new prod (prod's endpoint follows, so
 * applications keep their connection string) and check that prod answers. The candidate that failed and the
 * pre-promotion prod are kept as backups for the configured time.
 */
export async function undoSwap(
  run: Run,
  options: PromoteOptions,
  database: DatabaseRef,
  ctx: { swap: Swap; rollbackSnapshotId: string; plan: PromotionPlan; result: PromoteResult },
): Promise<void> {
  const { swap, result } = ctx;
  const id = workflowInfo().workflowId;
  await run.step('roll_back', async (step) => {
    // The restore below makes a root branch: the fork point's copy (only the carry used it, and that is over) gives
    // up its slot first, so a promotion and its rollback fit a plan with room for two (plan.ts, room.ts).
    const forkBase = await compensations.getBranch({
      projectId: database.projectId,
      branchName: resourceName('base', id),
    });
    if (forkBase) await deleteBranch(database.projectId, forkBase.id);
    const back = await restoreBack(database.projectId, ctx.rollbackSnapshotId, swap.restoredBranchId, {
      restored: resourceName('undo', id),
      old: resourceName('failed', id),
    });
    step.ids = { prodBranchId: back.restoredBranchId, failedBranchId: back.replacedBranchId };
    result.prodBranchId.after = back.restoredBranchId;
    // A rollback snapshot taken under our write fence carries it (on Neon): prod must take writes again.
    if (result.writes?.fence?.fencedAt) await liftFenceOf(database, options.prodBranchName);
    // The caller's checks describe the candidate; the pre-promotion data needs only to answer.
    const check = await verify(database, back.restoredBranchId, ctx.plan.prodEndpointId, [CONNECTIVITY_CHECK]);
    if (!check.ok) {
      throw ApplicationFailure.create({
        type: 'RollbackFailed',
        nonRetryable: true,
        message: `prod does not answer after the rollback: ${check.checks.find((checkResult) => !checkResult.ok)?.detail ?? ''}`,
      });
    }
    const retention = options.retention.backupBranch;
    await retireBackup(database.projectId, back.replacedBranchId, back.restoredBranchId, retention);
    const expiresAt = await retireBackup(database.projectId, swap.replacedBranchId, back.restoredBranchId, retention);
    result.backupBranch = { id: swap.replacedBranchId, name: resourceName('old', id), expiresAt };
  });
}
