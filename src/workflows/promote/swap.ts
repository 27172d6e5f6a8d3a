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
import { abort, done, snapshotStep, type Promotion } from './promotion';
import { undoSwap } from './undo';
import { isCancellation, shielded, type Saga } from '../runtime/saga';
import { judged, orConnect, verify } from '../steps/checks';
import { cleanUpSwap, deleteSnapshot } from '../steps/cleanup';
import { retainRollbackSnapshot } from '../steps/retention';
import { type Swap, finalizeOnto } from '../steps/restore';

export async function swapAndVerify(promotion: Promotion, candidate: Candidate): Promise<PromoteResult> {
  const { run, options, plan, result, saga, guard, database, id } = promotion;
  const { projectId } = database;
  // From here to the swap, writes to prod are at risk: fence (or baseline), rollback snapshot, check, swap.
  await guard.beforeSnapshot(saga);
  // Without expiry while the run may roll prod back to it: its retention starts when the run is done with it.
  const rollbackSnap = await snapshotStep(
    promotion,
    'snapshot_prod',
    plan.prodBranchId,
    promotion.names.rollback,
    null,
  );
  promotion.rollbackSnapshot = rollbackSnap;
  result.rollbackSnapshotId = rollbackSnap.id;
  saga.add('delete_rollback_snapshot', () => deleteSnapshot(projectId, rollbackSnap.id));
  const stop = await guard.beforeSwap();
  if (stop) return abort(promotion, `${stop}; prod untouched`);
  // The swap is shielded: once started it completes, so a cancellation finds prod either untouched or swapped. One
  // activity: the candidate's read-write endpoint deleted (prod's moves to it), then the finalize.
  const swap = await run.step('swap', (step) =>
    shielded(async () => {
      const swapped = await finalizeOnto(
        projectId,
        candidate.branchId,
        plan.prodBranchId,
        resourceName('old', id),
        promotion.firstExecution,
        candidate.endpointId,
      );
      step.ids = { prodBranchId: swapped.restoredBranchId, backupBranchId: swapped.replacedBranchId };
      return swapped;
    }),
  );
  onSwapped(promotion, swap);
  const conflict = await guard.afterSwap(saga, swap, rollbackSnap.id, promotion.forkBase ?? null);
  if (conflict) {
    await run.step('clean_up', () => undo(saga));
    await retainRollbackPoint(promotion);
    return done(run, result, 'rolled_back', `${conflict}; prod rolled back`);
  }

  const post = await run.step('verify_prod', async (step) =>
    verify(
      database,
      swap.restoredBranchId,
      plan.prodEndpointId,
      orConnect([...options.checks, ...options.postSwapChecks]),
    )
      .catch((err: unknown): VerifyBranchResult => {
        if (isCancellation(err)) throw err;
        // Prod unreachable after every retry is as much a failed verification as a failed check.
        const detail = err instanceof Error ? err.message : String(err);
        return {
          ok: false,
          checks: [{ name: 'reach prod', kind: 'sql', ok: false, detail }],
          failedCheck: 'reach prod',
          durationMs: 0,
        };
      })
      .then((checked) => judged(step, checked)),
  );
  result.verification.prod = post;
  if (!post.ok) {
    await run.step('clean_up', () => undo(saga));
    await retainRollbackPoint(promotion);
    return done(run, result, 'rolled_back', `check "${post.failedCheck}" failed on prod after the swap`);
  }

  await run.step('clean_up', () =>
    shielded(async () => {
      // The fork point's branch goes with the rest of the clean-up, in its one activity.
      saga.drop('roll_back_prod', 'delete_candidate_snapshot', 'delete_fork_base');
      await saga.compensate(); // the rollback snapshot stays for later rollbacks
      // Prod is the candidate now, and dev went on from the same snapshot: what the two share from here on.
      const fork = {
        snapshotId: promotion.candidateSnapshotId!,
        workflowId: id,
        previous: plan.forkPoint,
        ...(promotion.forkBase ? { baseBranchId: promotion.forkBase.branchId } : {}),
      };
      const cleaned = await cleanUpSwap(projectId, swap, fork, options.retention.backupBranch);
      result.forkPoint = cleaned.forkPoint;
      result.backupBranch = { id: swap.replacedBranchId, name: resourceName('old', id), expiresAt: cleaned.expiresAt };
    }),
  );
  await retainRollbackPoint(promotion);
  return done(run, result, 'promoted', null);
}

/**
 * Prod no longer needs rolling back by this run (promoted, or rolled back already): the rollback snapshot's retention
 * starts. Not called when the rollback failed: the snapshot is then the way back and stays without expiry.
 */
export async function retainRollbackPoint(promotion: Promotion): Promise<void> {
  const { run, options, database, result, rollbackSnapshot } = promotion;
  if (!rollbackSnapshot) return;
  result.rollbackSnapshotExpiresAt = await retainRollbackSnapshot(
    run,
    database.projectId,
    rollbackSnapshot,
    options.retention.rollbackSnapshot,
  );
}

/** From the swap on, prod holds the candidate: undoing the run means rolling prod back, not deleting branches. */
export function onSwapped(promotion: Promotion, swap: Swap): void {
  const { run, options, database, plan, result, saga } = promotion;
  promotion.swap = swap;
  result.prodBranchId.after = swap.restoredBranchId;
  saga.drop('delete_candidate_branch', 'delete_rollback_snapshot');
  saga.add('roll_back_prod', () =>
    undoSwap(run, options, database, { swap, rollbackSnapshotId: result.rollbackSnapshotId!, plan, result }),
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
