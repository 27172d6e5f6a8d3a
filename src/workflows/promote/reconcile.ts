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
import type { DatabaseRef } from '../contract/database-ref';
import { deleteBranch, deleteEndpoint } from '../steps/cleanup';
import type { Swap } from '../steps/restore';

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
  database: DatabaseRef,
  ctx: ReconcileContext,
): Promise<ReconcileResult | { conflict: string }> {
  const { projectId } = database;
  const { swap } = ctx;
  const readOnlyEndpoint = async (branchId: string): Promise<string> => {
    const reconciled = await neonMutations.createEndpoint({ projectId, branchId, type: 'read_only' });
    return reconciled.endpoint.id;
  };
  return run.step(ctx.dryRun ? 'count_late_writes' : 'reconcile', async (step) => {
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
    step.ids = { sourceBranchId: swap.replacedBranchId, baseBranchId: base.branch.id };
    let result: ReconcileResult | { conflict: string };
    try {
      const reconciled = await reconciliation.reconcileLateWrites({
        ...database,
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
      step.detail = summary(reconciled);
      result = reconciled;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || cause.type !== 'ReconcileConflict') throw err;
      result = { conflict: `late writes conflict with the candidate: ${cause.message}` };
      step.detail = result.conflict;
    }
    // The helpers go now (the backup must have no children to be given an expiry); on failure the saga does it.
    await deleteBranch(projectId, base.branch.id);
    await deleteEndpoint(projectId, sourceEndpointId);
    saga.drop('delete_rollback_state', 'delete_backup_endpoint');
    return result;
  });
}

function summary(reconciled: ReconcileResult): string {
  const verb = reconciled.dryRun ? 'not in the new prod' : 'copied';
  return reconciled.tables
    .map((table) => {
      const late =
        table.lateWrites.inserts + table.lateWrites.updates + table.lateWrites.deletes + table.lateWrites.upserts;
      const moved = reconciled.dryRun ? late - table.alreadyPresent : table.inserted + table.updated + table.deleted;
      return `${table.table}: ${late} late, ${moved} ${verb}${table.conflicts ? `, ${table.conflicts} conflict(s)` : ''}`;
    })
    .join('; ');
}
