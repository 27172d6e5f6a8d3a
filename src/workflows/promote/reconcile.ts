/**
 * The `reconcile` policy after the swap (and `ignore`'s exact count, as a dry run): the late writes are the
 * difference between the old prod at the swap (the "(old)" backup) and at the rollback snapshot (restored without
 * finalize next to it), copied into the new prod.
 */
import { ActivityFailure, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { ReconcileResult } from '../../activities/contract';
import type { PromoteOptions } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { neonMutations, reconciliation } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import type { Saga } from '../runtime/saga';
import { deleteBranch, deleteEndpoint, type Swap, type Where } from '../steps/neon';

export type ReconcileContext = {
  swap: Swap;
  rollbackSnapshotId: string;
  prodEndpointId: string;
  options: NonNullable<PromoteOptions['reconcile']>;
  dryRun: boolean;
};

/** The reconciliation's result, or why the caller's `fail` rule stopped it (nothing was written). */
export async function reconcileFromBackup(
  run: Run,
  saga: Saga,
  where: Where,
  ctx: ReconcileContext,
): Promise<ReconcileResult | { conflict: string }> {
  const { projectId } = where;
  const { swap } = ctx;
  const readOnlyEndpoint = async (branchId: string): Promise<string> => {
    const r = await neonMutations.createEndpoint({ projectId, branchId, type: 'read_only' });
    return r.endpoint.id;
  };
  return run.step(ctx.dryRun ? 'count_late_writes' : 'reconcile', async (s) => {
    const sourceEndpointId = await readOnlyEndpoint(swap.replacedBranchId);
    saga.add('delete_backup_endpoint', () => deleteEndpoint(projectId, sourceEndpointId));
    const base = await neonMutations.restoreSnapshot({
      projectId,
      snapshotId: ctx.rollbackSnapshotId,
      targetBranchId: swap.replacedBranchId,
      finalize: false,
      name: resourceName('rollback-state', workflowInfo().workflowId),
    });
    saga.add('delete_rollback_state', () => deleteBranch(projectId, base.branch.id));
    const baseEndpointId = await readOnlyEndpoint(base.branch.id);
    s.ids = { sourceBranchId: swap.replacedBranchId, baseBranchId: base.branch.id };
    let result: ReconcileResult | { conflict: string };
    try {
      const r = await reconciliation.reconcileLateWrites({
        ...where,
        sourceBranchId: swap.replacedBranchId,
        sourceEndpointId,
        baseBranchId: base.branch.id,
        baseEndpointId,
        targetBranchId: swap.restoredBranchId,
        targetEndpointId: ctx.prodEndpointId,
        tables: ctx.options.tables,
        onConflict: ctx.options.onConflict,
        dryRun: ctx.dryRun,
      });
      s.detail = summary(r);
      result = r;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== 'ReconcileConflict') throw err;
      result = { conflict: `late writes conflict with the candidate: ${cause.message}` };
      s.detail = result.conflict;
    }
    // The helpers go now (the backup must have no children to be given an expiry); on failure the saga does it.
    await deleteBranch(projectId, base.branch.id);
    await deleteEndpoint(projectId, sourceEndpointId);
    saga.drop('delete_rollback_state', 'delete_backup_endpoint');
    return result;
  });
}

function summary(r: ReconcileResult): string {
  const verb = r.dryRun ? 'not in the new prod' : 'copied';
  return r.tables
    .map((t) => {
      const late = t.lateWrites.inserts + t.lateWrites.updates + t.lateWrites.deletes + t.lateWrites.upserts;
      const moved = r.dryRun ? late - t.alreadyPresent : t.inserted + t.updated + t.deleted;
      return `${t.table}: ${late} late, ${moved} ${verb}${t.conflicts ? `, ${t.conflicts} conflict(s)` : ''}`;
    })
    .join('; ');
}
