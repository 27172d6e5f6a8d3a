/**
 * The second half of a snapshot promotion: from the write baseline (or fence) and the rollback snapshot to the swap,
 * prod verified after it, an automatic rollback if that fails, and the clean-up. The swap is the only step that
 * touches prod's data; from it on, undoing the run means rolling prod back (undoSwap), not deleting branches.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { VerifyBranchResult } from '../../activities/contract';
import { resourceName } from '../contract/names';
import type { PromoteResult } from './promote';
import type { Candidate } from './candidate';
import { abort, done, orConnect, snapshotStep, type Promotion } from './promotion';
import { undoSwap } from './undo';
import { neonMutations } from '../runtime/activity-options';
import { isCancellation, shielded, type Saga } from '../runtime/saga';
import { deleteSnapshot, finalizeOnto, retireBackup, verify, type Swap } from '../steps/neon';

export async function swapAndVerify(p: Promotion, candidate: Candidate): Promise<PromoteResult> {
  const { run, o, plan, result, saga, guard, where, id } = p;
  const { projectId } = where;
  // From here to the swap, writes to prod are at risk: fence (or baseline), rollback snapshot, check, swap.
  await guard.beforeSnapshot(saga);
  const rollbackSnap = await snapshotStep(
    p,
    'snapshot_prod',
    plan.prodBranchId,
    p.names.rollback,
    o.retention.rollbackSnapshot,
  );
  result.rollbackSnapshotId = rollbackSnap.id;
  saga.add('delete_rollback_snapshot', () => deleteSnapshot(projectId, rollbackSnap.id));
  const stop = await guard.beforeSwap();
  if (stop) return abort(p, `${stop}; prod untouched`);
  // The swap is shielded: once started it completes, so a cancellation finds prod either untouched or swapped.
  const swap = await run.step('swap', (s) =>
    shielded(async () => {
      await neonMutations.deleteEndpoint({ projectId, endpointId: candidate.endpointId });
      const swapped = await finalizeOnto(projectId, candidate.branchId, plan.prodBranchId, resourceName('old', id));
      s.ids = { prodBranchId: swapped.restoredBranchId, backupBranchId: swapped.replacedBranchId };
      return swapped;
    }),
  );
  onSwapped(p, swap);
  const conflict = await guard.afterSwap(saga, swap, rollbackSnap.id);
  if (conflict) {
    await run.step('clean_up', () => undo(saga));
    return done(run, result, 'rolled_back', `${conflict}; prod rolled back`);
  }

  const post = await run.step('verify_prod', async () =>
    verify(where, swap.restoredBranchId, plan.prodEndpointId, orConnect([...o.checks, ...o.postSwapChecks])).catch(
      (err: unknown): VerifyBranchResult => {
        if (isCancellation(err)) throw err;
        // Prod unreachable after every retry is as much a failed verification as a failed check.
        const detail = err instanceof Error ? err.message : String(err);
        return {
          ok: false,
          checks: [{ name: 'reach prod', kind: 'sql', ok: false, detail }],
          failedCheck: 'reach prod',
          durationMs: 0,
        };
      },
    ),
  );
  result.verification.prod = post;
  if (!post.ok) {
    await run.step('clean_up', () => undo(saga));
    return done(run, result, 'rolled_back', `check "${post.failedCheck}" failed on prod after the swap`);
  }

  await run.step('clean_up', () =>
    shielded(async () => {
      saga.drop('roll_back_prod');
      await saga.compensate(); // deletes the candidate snapshot; the rollback snapshot stays for later rollbacks
      const expiresAt = await retireBackup(projectId, swap.replacedBranchId, o.retention.backupBranch);
      result.backupBranch = { id: swap.replacedBranchId, name: resourceName('old', id), expiresAt };
    }),
  );
  return done(run, result, 'promoted', null);
}

/** From the swap on, prod holds the candidate: undoing the run means rolling prod back, not deleting branches. */
export function onSwapped(p: Promotion, s: Swap): void {
  const { run, o, where, plan, result, saga } = p;
  p.swap = s;
  result.prodBranchId.after = s.restoredBranchId;
  saga.drop('delete_candidate_branch', 'delete_rollback_snapshot');
  saga.add('roll_back_prod', () =>
    undoSwap(run, o, where, { swap: s, rollbackSnapshotId: result.rollbackSnapshotId!, plan, result }),
  );
}

/** Runs the compensations; a rollback of prod that did not succeed is the one failure that must not stay quiet. */
export async function undo(saga: Saga): Promise<void> {
  const failed = await saga.compensate();
  if (failed.includes('roll_back_prod')) {
    throw ApplicationFailure.create({
      type: 'RollbackFailed',
      nonRetryable: true,
      message: 'prod could not be rolled back to the pre-promotion snapshot: it may serve the candidate; act now',
    });
  }
}
