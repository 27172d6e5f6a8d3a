/**
 * The first half of a snapshot promotion: dev's snapshot, the approval, and the candidate restored next to prod and
 * checked. Nothing here touches prod; each step's undo is registered on the saga once the step succeeded.
 */
import type { ApprovalGate } from './approval';
import type { PromoteResult } from './promote';
import { abort, snapshotStep, type Promotion } from './promotion';
import { neonMutations } from '../runtime/activity-options';
import { judged, orConnect, verify } from '../steps/checks';
import { deleteBranch, deleteSnapshot } from '../steps/cleanup';

/** A candidate that passed its checks: its branch and the endpoint the checks used. */
export type Candidate = { branchId: string; endpointId: string };

/** The checked candidate, or the run's result when it stopped (rejected, timed out, a failed check). */
export async function prepareCandidate(promotion: Promotion, gate: ApprovalGate): Promise<Candidate | PromoteResult> {
  const { run, options, plan, result, saga } = promotion;
  const { projectId } = promotion.database;
  // No expiry: a promoted candidate becomes the fork point, kept until the next fork. The saga deletes it otherwise
  // (and the janitor, should a run be terminated), so it also outlasts any approval wait.
  const candidateSnap = await snapshotStep(
    promotion,
    'snapshot_dev',
    plan.devBranchId,
    promotion.names.candidate,
    null,
  );
  promotion.candidateSnapshotId = candidateSnap.id;
  saga.add('delete_candidate_snapshot', () => deleteSnapshot(projectId, candidateSnap.id));

  if (options.approval) {
    result.approval = await run.step('approval', async (step) => {
      const decision = await gate.wait(options.approval!.timeout);
      step.detail = decision ? `${decision.approved ? 'approved' : 'rejected'} by ${decision.by}` : 'timed out';
      return decision;
    });
    if (!result.approval?.approved) {
      const why = result.approval ? `rejected by ${result.approval.by}` : 'no approval before the timeout';
      return abort(promotion, `${why}; prod untouched`);
    }
  } else run.skip('approval', 'not required');

  // The candidate as a branch of its own, next to prod: checked before anything touches prod.
  const candidate = await run.step('restore_candidate', async (step) => {
    const { branch } = await neonMutations.restoreSnapshot({
      projectId,
      snapshotId: candidateSnap.id,
      targetBranchId: plan.prodBranchId,
      finalize: false,
      name: promotion.names.candidate,
      ...(promotion.firstExecution ? { firstExecution: true } : {}),
    });
    step.ids.branchId = branch.id;
    return branch;
  });
  promotion.candidateBranchId = candidate.id;
  saga.add('delete_candidate_branch', () => deleteBranch(projectId, candidate.id));
  // A restored, unfinalized branch has no compute: the checks need one.
  const endpointId = await run.step('candidate_endpoint', async (step) => {
    const { endpoint } = await neonMutations.createEndpoint({ projectId, branchId: candidate.id, type: 'read_write' });
    step.ids.endpointId = endpoint.id;
    return endpoint.id;
  });
  const pre = await run.step('verify_candidate', async (step) => {
    // The checks and, once they pass, the fingerprint of the data the candidate carries: one activity, one round trip.
    const { fingerprint, ...checked } = await verify(
      promotion.database,
      candidate.id,
      endpointId,
      orConnect(options.checks),
      { fingerprint: true },
    );
    if (checked.ok) result.candidateFingerprint = fingerprint ?? null;
    return judged(step, checked);
  });
  result.verification.candidate = pre;
  if (!pre.ok) return abort(promotion, `check "${pre.failedCheck}" failed on the candidate; prod untouched`);
  return { branchId: candidate.id, endpointId };
}
