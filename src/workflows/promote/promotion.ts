/**
 * What the phases of a snapshot promotion share (promote.ts runs them: candidate.ts up to a checked candidate,
 * swap.ts from the rollback snapshot to the clean-up): the run's state and the steps more than one
 * phase takes.
 */
import type { SnapshotInfo } from '../../activities/contract';
import type { PromoteOptions } from '../contract/inputs';
import { isoAfter } from '../contract/names';
import type { PromoteOutcome, PromoteResult } from './promote';
import type { PromotionPlan } from './plan';
import type { WriteGuard } from './writes';
import type { ForkBase } from './fork-writes';
import type { Run } from '../runtime/run';
import { neonMutations } from '../runtime/activity-options';
import type { Saga } from '../runtime/saga';
import type { DatabaseRef } from '../contract/database-ref';
import type { Swap } from '../steps/restore';

/** One promotion's state, shared by its phases. */
export type Promotion = {
  run: Run;
  options: PromoteOptions;
  database: DatabaseRef;
  /** The run's workflow ID: names of what it creates at Neon derive from it. */
  id: string;
  names: { rollback: string; candidate: string };
  /**
   * This run is its workflow's first execution (never reset) and its plan found none of its names at Neon: attempt 1
   * of its restores and its swap sends without looking for an earlier execution's work.
   */
  firstExecution: boolean;
  saga: Saga;
  plan: PromotionPlan;
  result: PromoteResult;
  guard: WriteGuard;
  /** Set once the candidate snapshot exists: a promoted candidate becomes the fork point. */
  candidateSnapshotId?: string;
  /** Set once the candidate branch exists. */
  candidateBranchId?: string;
  /** Set once prod's writes since the fork are counted (null: no fork point known). */
  forkBase?: ForkBase | null;
  /** Set once prod holds the candidate. */
  swap?: Swap;
  /** Set once the rollback snapshot exists: kept without expiry until the run no longer needs it (steps/retention.ts). */
  rollbackSnapshot?: SnapshotInfo;
};

/** Takes (or finds) the run's snapshot of a branch, kept for `keepMs` (null: until deleted). */
export function snapshotStep(
  promotion: Promotion,
  stepName: 'snapshot_prod' | 'snapshot_dev',
  branchId: string,
  name: string,
  keepMs: number | null,
): Promise<SnapshotInfo> {
  const { projectId } = promotion.database;
  return promotion.run.step(stepName, async (step): Promise<SnapshotInfo> => {
    const { snapshot } = await neonMutations.ensureSnapshot({
      projectId,
      branchId,
      name,
      ...(keepMs === null ? {} : { expiresAt: isoAfter(Date.now(), keepMs) }),
    });
    step.ids.snapshotId = snapshot.id;
    return snapshot;
  });
}

/** Undoes what the run made (prod was not touched) and ends it as aborted. */
export async function abort(promotion: Promotion, why: string): Promise<PromoteResult> {
  await promotion.run.step('clean_up', () => promotion.saga.compensate());
  return done(promotion.run, promotion.result, 'aborted', why);
}

export function done(run: Run, result: PromoteResult, outcome: PromoteOutcome, reason: string | null): PromoteResult {
  result.outcome = outcome;
  result.reason = reason;
  run.finish(outcome, reason);
  return result;
}
