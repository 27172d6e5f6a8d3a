/**
 * The carry after the swap (and `ignore`'s exact count, as a dry run): prod's writes are the difference between the
 * old prod at the swap (the "(old)" backup) and the fork point (restored before the swap, fork-writes.ts), merged into
 * the new prod. Without a fork point, the base is the rollback snapshot, restored without finalize next to it: then
 * only the promotion's own window is covered.
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
import type { ForkBase } from './fork-writes';

export type ReconcileContext = {
  swap: Swap;
  rollbackSnapshotId: string;
  /** The fork point's branch, the merge's base; null: none known, the rollback snapshot is restored as the base. */
  forkBase: ForkBase | null;
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
  return run.step(ctx.dryRun ? 'count_late_writes' : 'reconcile', async (step) => {
    const sourceEndpointId = await readOnlyEndpoint(projectId, swap.replacedBranchId);
    saga.add('delete_backup_endpoint', () => deleteEndpoint(projectId, sourceEndpointId));
    const base = ctx.forkBase ?? (await rollbackState(saga, projectId, ctx.rollbackSnapshotId, swap));
    step.ids = { sourceBranchId: swap.replacedBranchId, baseBranchId: base.branchId };
    let result: ReconcileResult | { conflict: string };
    try {
      const reconciled = await reconciliation.reconcileLateWrites({
        ...database,
        sourceBranchId: swap.replacedBranchId,
        sourceEndpointId,
        baseBranchId: base.branchId,
        baseEndpointId: base.endpointId,
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
    // The helpers go now (the backup must have no children to be given an expiry); on failure the saga does it. The
    // fork point's branch goes with the run's clean-up.
    if (!ctx.forkBase) await deleteBranch(projectId, base.branchId);
    await deleteEndpoint(projectId, sourceEndpointId);
    saga.drop('delete_rollback_state', 'delete_backup_endpoint');
    return result;
  });
}

/** The rollback snapshot restored without finalize, with a read-only endpoint: the base when no fork point is known. */
async function rollbackState(saga: Saga, projectId: string, snapshotId: string, swap: Swap): Promise<ForkBase> {
  const { branch } = await neonMutations.restoreSnapshot({
    projectId,
    snapshotId,
    targetBranchId: swap.replacedBranchId,
    finalize: false,
    name: resourceName('rollback-state', workflowInfo().workflowId),
  });
  saga.add('delete_rollback_state', () => deleteBranch(projectId, branch.id));
  return { branchId: branch.id, endpointId: await readOnlyEndpoint(projectId, branch.id) };
}

async function readOnlyEndpoint(projectId: string, branchId: string): Promise<string> {
  const { endpoint } = await neonMutations.createEndpoint({ projectId, branchId, type: 'read_only' });
  return endpoint.id;
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
