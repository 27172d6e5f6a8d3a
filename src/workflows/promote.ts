/**
 * Phase 3: promote dev to prod as a saga (plan -> candidate snapshot -> approval -> restore and verify the candidate
 * -> write baseline (fence) -> rollback snapshot -> write check -> swap -> lift / reconcile -> verify prod -> roll back
 * automatically if that fails -> clean up). Prod's data is touched only by the swap; every step before it is undone on
 * failure or cancellation, and after it the undo is a rollback to the pre-promotion snapshot. The rollback snapshot
 * comes last before the swap so the window of writes at risk (and the fence) is as short as it can be (issue 7).
 * `strategy: 'migrations'` promotes by applying dev's pending migrations instead (promote-migrations.ts).
 */
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { FingerprintBranchResult, SnapshotInfo, VerificationCheck, VerifyBranchResult } from '../activities/types';
import { mutation, settle } from './proxies';
import { ApprovalGate } from './approval';
import type { Approval, WriteReport } from './definitions';
import { fingerprintOrNull } from './fingerprints';
import { CONNECTIVITY_CHECK, promoteInput, type PromoteInput } from './inputs';
import { isoAfter, resourceName } from './names';
import { promoteByMigrations, type MigrationsReport } from './promote-migrations';
import { planPromotion, type PromotionPlan } from './promote-plan';
import { WriteGuard } from './promote-writes';
import { Run } from './progress';
import { undoSwap } from './promote-undo';
import { Saga, isCancellation, shielded } from './saga';
import {
  deleteBranch,
  deleteSnapshot,
  finalizeOnto,
  isFinalized,
  retireBackup,
  settleOrRemove,
  verify,
  type Swap,
} from './steps';
import { parseInput } from './validate';

export type PromoteOutcome = 'promoted' | 'rolled_back' | 'aborted' | 'dry_run' | 'noop';

export type PromoteResult = {
  outcome: PromoteOutcome;
  /** Why it was not promoted (a failed check, a rejection, a timeout), or null. */
  reason: string | null;
  projectId: string;
  plan: PromotionPlan;
  /** Prod's branch ID changes with every swap (and again with a rollback); its endpoint does not. */
  prodBranchId: { before: string; after: string };
  rollbackSnapshotId: string | null;
  approval: Approval | null;
  /** The replaced prod, kept until `expiresAt` (null: no expiry could be set; the janitor deletes it). */
  backupBranch: { id: string; name: string; expiresAt: string | null } | null;
  verification: { candidate: VerifyBranchResult | null; prod: VerifyBranchResult | null };
  strategy: 'snapshot' | 'migrations';
  /** Snapshot strategy: writes prod received between the rollback snapshot and the swap, and what became of them. */
  writes: WriteReport | null;
  /** Migrations strategy: the plan and what was applied. */
  migrations: MigrationsReport | null;
  /**
   * The data the candidate carried (dev's at its snapshot), taken once its checks passed: the baseline a later
   * refreshDev compares dev with. Null when not taken (migrations strategy, an earlier stop, or it could not be read).
   */
  candidateFingerprint: FingerprintBranchResult | null;
};

export async function promote(raw: PromoteInput): Promise<PromoteResult> {
  const run = new Run('promote');
  const o = parseInput(promoteInput, raw);
  const gate = new ApprovalGate(o.approval !== undefined);
  run.begin(o.projectId);
  await run.waitForTurn();

  const { projectId } = o;
  const where = { projectId, databaseName: o.databaseName, roleName: o.roleName };
  const id = workflowInfo().workflowId;
  const names = { rollback: resourceName('rollback', id), candidate: resourceName('candidate', id) };
  const saga = new Saga();
  const plan = await run.step('plan', () => planPromotion(o));
  const result: PromoteResult = {
    outcome: 'dry_run',
    reason: null,
    projectId,
    plan,
    prodBranchId: { before: plan.prodBranchId, after: plan.prodBranchId },
    rollbackSnapshotId: null,
    approval: null,
    backupBranch: null,
    verification: { candidate: null, prod: null },
    strategy: o.strategy,
    writes: null,
    migrations: null,
    candidateFingerprint: null,
  };
  if (o.strategy === 'migrations') return promoteByMigrations(run, o, result, done);
  if (o.dryRun) return done(run, result, 'dry_run', null);
  const guard = new WriteGuard(run, o, where, { branchId: plan.prodBranchId, endpointId: plan.prodEndpointId });
  result.writes = guard.report;

  let candidateBranchId: string | undefined;
  let swap: Swap | undefined;
  try {
    const snapshot = (step: 'snapshot_prod' | 'snapshot_dev', branchId: string, name: string, keepMs: number) =>
      run.step(step, async (s): Promise<SnapshotInfo> => {
        const r = await mutation.ensureSnapshot({ projectId, branchId, name, expiresAt: isoAfter(Date.now(), keepMs) });
        await settleOrRemove(projectId, r, () => deleteSnapshot(projectId, r.snapshot.id));
        s.ids.snapshotId = r.snapshot.id;
        return r.snapshot;
      });
    const candidateSnap = await snapshot(
      'snapshot_dev',
      plan.devBranchId,
      names.candidate,
      o.retention.candidateSnapshot,
    );
    saga.add('delete_candidate_snapshot', () => deleteSnapshot(projectId, candidateSnap.id));

    if (o.approval) {
      result.approval = await run.step('approval', async (s) => {
        const decision = await gate.wait(o.approval!.timeout);
        s.detail = decision ? `${decision.approved ? 'approved' : 'rejected'} by ${decision.by}` : 'timed out';
        return decision;
      });
      if (!result.approval?.approved) {
        await run.step('clean_up', () => saga.compensate());
        const why = result.approval ? `rejected by ${result.approval.by}` : 'no approval before the timeout';
        return done(run, result, 'aborted', `${why}; prod untouched`);
      }
    } else run.skip('approval', 'not required');

    // The candidate as a branch of its own, next to prod: checked before anything touches prod.
    const candidate = await run.step('restore_candidate', async (s) => {
      const r = await mutation.restoreSnapshot({
        projectId,
        snapshotId: candidateSnap.id,
        targetBranchId: plan.prodBranchId,
        finalize: false,
        name: names.candidate,
      });
      await settleOrRemove(projectId, r, () => deleteBranch(projectId, r.branch.id));
      s.ids.branchId = r.branch.id;
      return r.branch;
    });
    candidateBranchId = candidate.id;
    saga.add('delete_candidate_branch', () => deleteBranch(projectId, candidate.id));
    // A restored, unfinalized branch has no compute: the checks need one.
    const endpointId = await run.step('candidate_endpoint', async (s) => {
      const r = await mutation.createEndpoint({ projectId, branchId: candidate.id, type: 'read_write' });
      await settle(projectId, r);
      s.ids.endpointId = r.endpoint.id;
      return r.endpoint.id;
    });
    const pre = await run.step('verify_candidate', async () => {
      const checked = await verify(where, candidate.id, endpointId, orConnect(o.checks));
      // Histories recorded before the fingerprint existed replay without it.
      if (checked.ok && patched('candidate-fingerprint'))
        result.candidateFingerprint = await fingerprintOrNull(where, candidate.id, endpointId);
      return checked;
    });
    result.verification.candidate = pre;
    if (!pre.ok) {
      await run.step('clean_up', () => saga.compensate());
      return done(run, result, 'aborted', `check "${pre.failedCheck}" failed on the candidate; prod untouched`);
    }

    // From here to the swap, writes to prod are at risk: fence (or baseline), rollback snapshot, check, swap.
    await guard.beforeSnapshot(saga);
    const rollbackSnap = await snapshot(
      'snapshot_prod',
      plan.prodBranchId,
      names.rollback,
      o.retention.rollbackSnapshot,
    );
    result.rollbackSnapshotId = rollbackSnap.id;
    saga.add('delete_rollback_snapshot', () => deleteSnapshot(projectId, rollbackSnap.id));
    const stop = await guard.beforeSwap();
    if (stop) {
      await run.step('clean_up', () => saga.compensate());
      return done(run, result, 'aborted', `${stop}; prod untouched`);
    }
    // The swap is shielded: once started it completes, so a cancellation finds prod either untouched or swapped.
    swap = await run.step('swap', (s) =>
      shielded(async () => {
        await settle(projectId, await mutation.deleteEndpoint({ projectId, endpointId }));
        const swapped = await finalizeOnto(projectId, candidate.id, plan.prodBranchId, resourceName('old', id));
        s.ids = { prodBranchId: swapped.restoredBranchId, backupBranchId: swapped.replacedBranchId };
        return swapped;
      }),
    );
    onSwapped(swap);
    const conflict = await guard.afterSwap(saga, swap, rollbackSnap.id);
    if (conflict) {
      await run.step('clean_up', () => undo(saga));
      return done(run, result, 'rolled_back', `${conflict}; prod rolled back`);
    }

    const post = await run.step('verify_prod', async () =>
      verify(where, swap!.restoredBranchId, plan.prodEndpointId, orConnect([...o.checks, ...o.postSwapChecks])).catch(
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
        const expiresAt = await retireBackup(projectId, swap!.replacedBranchId, o.retention.backupBranch);
        result.backupBranch = { id: swap!.replacedBranchId, name: resourceName('old', id), expiresAt };
      }),
    );
    return done(run, result, 'promoted', null);
  } catch (err) {
    // A swap whose step failed (e.g. the wait after finalize) may still have happened: lineage says.
    if (!swap && candidateBranchId && (await shielded(() => isFinalized(projectId, candidateBranchId!)))) {
      onSwapped({ restoredBranchId: candidateBranchId, replacedBranchId: plan.prodBranchId });
    }
    const message = err instanceof Error ? err.message : String(err);
    try {
      await run.step('compensate', () => undo(saga));
    } catch (undoErr) {
      run.finish('failed', `${message}; then the rollback failed: ${String(undoErr)}`);
      throw undoErr;
    }
    run.finish(isCancellation(err) ? 'cancelled' : 'failed', swap ? `${message}; prod rolled back` : message);
    throw err;
  }

  /** From the swap on, prod holds the candidate: undoing the run means rolling prod back, not deleting branches. */
  function onSwapped(s: Swap): void {
    swap = s;
    result.prodBranchId.after = s.restoredBranchId;
    saga.drop('delete_candidate_branch', 'delete_rollback_snapshot');
    saga.add('roll_back_prod', () =>
      undoSwap(run, o, where, { swap: s, rollbackSnapshotId: result.rollbackSnapshotId!, plan, result }),
    );
  }
}

/** Runs the compensations; a rollback of prod that did not succeed is the one failure that must not stay quiet. */
async function undo(saga: Saga): Promise<void> {
  const failed = await saga.compensate();
  if (failed.includes('roll_back_prod')) {
    throw ApplicationFailure.create({
      type: 'RollbackFailed',
      nonRetryable: true,
      message: 'prod could not be rolled back to the pre-promotion snapshot: it may serve the candidate; act now',
    });
  }
}

/** Without checks of the caller's, a branch must at least answer. */
const orConnect = (checks: VerificationCheck[]): VerificationCheck[] => (checks.length ? checks : [CONNECTIVITY_CHECK]);

function done(run: Run, result: PromoteResult, outcome: PromoteOutcome, reason: string | null): PromoteResult {
  result.outcome = outcome;
  result.reason = reason;
  run.finish(outcome, reason);
  return result;
}
