/**
 * Promote dev to prod as a saga (plan -> count prod's writes since the fork -> candidate snapshot -> approval -> restore
 * and verify the candidate -> try the carry on it -> write baseline (fence) -> rollback snapshot -> write check -> swap
 * -> lift / carry -> verify prod -> roll back automatically if that fails -> clean up, the candidate becoming the fork
 * point). Prod's writes since dev was forked that the run neither carries nor discards stop it before anything is made
 * (fork-writes.ts). Prod's data is touched only by the swap; every step before it is undone on
 * failure or cancellation, and after it the undo is a rollback to the pre-promotion snapshot. The rollback snapshot
 * comes last before the swap so the window of writes at risk (and the fence) is as short as it can be.
 * `strategy: 'migrations'` promotes by applying dev's pending migrations instead (migrations.ts). The phases
 * live in candidate.ts (up to a checked candidate) and swap.ts (from the rollback snapshot on).
 */
import { ActivityFailure, workflowInfo } from '@temporalio/workflow';
import type { FingerprintBranchResult, VerifyBranchResult } from '../../activities/contract';
import { ApprovalGate } from './approval';
import type { Approval, ForkPoint, WriteReport } from '../contract/definitions';
import { promoteInput, type PromoteInput } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { prepareCandidate } from './candidate';
import { promoteByMigrations, type MigrationsReport } from './migrations';
import { planPromotion, type PromotionPlan } from './plan';
import { abort, done, type Promotion } from './promotion';
import { onSwapped, retainRollbackPoint, swapAndVerify, undo } from './swap';
import { checkCarry, countSinceFork } from './fork-writes';
import { WriteGuard } from './writes';
import { waitForTurn } from '../coordination/turn';
import { Run } from '../runtime/run';
import { Saga, isCancellation, shielded } from '../runtime/saga';
import { isFinalized } from '../steps/restore';
import { databaseRefOf } from '../contract/database-ref';
import { limitRefusal } from '../contract/failures';
import { parseInput } from '../contract/validate';

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
  /**
   * When the rollback snapshot is deleted: its retention, counted from when it was taken, starts once the run no longer
   * needs it. Null: not taken, deleted with the run, or kept without expiry (the rollback failed: it is the way back).
   */
  rollbackSnapshotExpiresAt: string | null;
  approval: Approval | null;
  /** The replaced prod, kept until `expiresAt` (null: no expiry could be set; the janitor deletes it). */
  backupBranch: { id: string; name: string; expiresAt: string | null } | null;
  verification: { candidate: VerifyBranchResult | null; prod: VerifyBranchResult | null };
  strategy: 'snapshot' | 'migrations';
  /** Snapshot strategy: prod's writes since dev was forked and during the promotion, and what became of them. */
  writes: WriteReport | null;
  /** The fork point the run leaves: the promoted candidate's snapshot, else the one it found (null: none known). */
  forkPoint: ForkPoint | null;
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
  const options = parseInput(promoteInput(), raw);
  const gate = new ApprovalGate(options.approval !== undefined);
  run.begin(options.projectId);
  await waitForTurn(run, raw);

  const { projectId } = options;
  const database = databaseRefOf(options);
  const id = workflowInfo().workflowId;
  const names = { rollback: resourceName('rollback', id), candidate: resourceName('candidate', id) };
  const saga = new Saga();
  const plan = await run.step('plan', () => planPromotion(options, id));
  const result: PromoteResult = {
    outcome: 'dry_run',
    reason: null,
    projectId,
    plan,
    prodBranchId: { before: plan.prodBranchId, after: plan.prodBranchId },
    rollbackSnapshotId: null,
    rollbackSnapshotExpiresAt: null,
    approval: null,
    backupBranch: null,
    verification: { candidate: null, prod: null },
    strategy: options.strategy,
    writes: null,
    migrations: null,
    candidateFingerprint: null,
    forkPoint: plan.forkPoint,
  };
  if (options.strategy === 'migrations') return promoteByMigrations(run, options, result, done);
  const guard = new WriteGuard(run, options, database, {
    branchId: plan.prodBranchId,
    endpointId: plan.prodEndpointId,
  });
  result.writes = guard.report;
  // A reset run keeps the start event's run ID: its steps may find what the execution before the reset made.
  const info = workflowInfo();
  const firstExecution = info.runId === info.originalExecutionRunId && !plan.ownNamesTaken;
  const promotion: Promotion = { run, options, database, id, names, firstExecution, saga, plan, result, guard };

  try {
    const counted = await countSinceFork(promotion);
    promotion.forkBase = counted.base;
    if (options.dryRun) {
      await run.step('clean_up', () => saga.compensate());
      return done(run, result, 'dry_run', counted.stop && `a promotion now would stop: ${counted.stop}`);
    }
    if (counted.stop) return abort(promotion, `${counted.stop}; prod untouched`);
    const candidate = await prepareCandidate(promotion, gate);
    if ('outcome' in candidate) return candidate;
    const stop = counted.base ? await checkCarry(promotion, counted.base, candidate) : null;
    if (stop) return abort(promotion, `${stop}; prod untouched`);
    return await swapAndVerify(promotion, candidate);
  } catch (err) {
    const unknownSwap = await settleSwap(promotion);
    const message = err instanceof Error ? err.message : String(err);
    // Once a verified swap's clean-up has begun, prod stays the candidate: there is nothing to roll back.
    const rollsBack = saga.names.includes('roll_back_prod');
    try {
      await run.step('compensate', () => undo(saga));
    } catch (undoErr) {
      run.finish('failed', `${message}; then the rollback failed: ${String(undoErr)}`);
      throw undoErr;
    }
    // Prod was rolled back (or never touched, and the snapshot went with the saga): the run needs it no more.
    if (promotion.swap && !unknownSwap) await retainRollbackPoint(promotion);
    const undone = !promotion.swap
      ? message
      : rollsBack
        ? `${message}; prod rolled back`
        : `${message}; prod is the candidate`;
    // Neon refused a snapshot or a restore for a plan limit before the swap, and the saga undid the rest: a refusal.
    const refused = promotion.swap ? null : limitRefusal(err);
    if (refused) run.finish('refused', refused.message);
    else run.finish(isCancellation(err) ? 'cancelled' : 'failed', unknownSwap ? `${undone}; ${unknownSwap}` : undone);
    throw refused ?? err;
  }
}

/**
 * Makes the saga fit whether the swap happened, after a failure before it was recorded: a swap whose step failed
 * (e.g. the wait after finalize) may still have happened, and the candidate's lineage says. The compensations run
 * whatever this finds. Lineage that cannot be read (a revoked key, Neon down past every retry) after the swap had
 * started leaves it open whether prod is the candidate now: deleting the candidate branch could delete prod, and the
 * rollback snapshot is the way back, so both are kept (the fence lift and the rest of the clean-up still run), and
 * the returned note tells the operator what to check. Before the swap started the candidate cannot be prod.
 */
async function settleSwap(promotion: Promotion): Promise<string | null> {
  const { candidateBranchId, database, plan, result, run, saga } = promotion;
  if (promotion.swap || !candidateBranchId) return null;
  try {
    if (await shielded(() => isFinalized(database.projectId, candidateBranchId)))
      onSwapped(promotion, { restoredBranchId: candidateBranchId, replacedBranchId: plan.prodBranchId });
    return null;
  } catch (err) {
    if (!run.progress.steps.some((step) => step.name === 'swap')) return null;
    saga.drop('delete_candidate_branch', 'delete_rollback_snapshot');
    const failure = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const why = failure instanceof Error ? failure.message : String(failure);
    return (
      `could not tell whether prod is the candidate now (${why}): kept the candidate branch ${candidateBranchId} ` +
      `and the rollback snapshot ${result.rollbackSnapshotId}; if prod serves the candidate, roll back to that ` +
      `snapshot, else delete the candidate branch`
    );
  }
}
