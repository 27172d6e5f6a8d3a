/**
 * The first half of a snapshot promotion: dev's snapshot, the approval, and the candidate restored next to prod and
 * checked. Nothing here touches prod; each step's undo is registered on the saga once the step succeeded.
 */
import { fingerprintOrNull } from '../steps/fingerprints';
import type { ApprovalGate } from './approval';
import type { PromoteResult } from './promote';
import { abort, orConnect, snapshotStep, type Promotion } from './promotion';
import { neonMutations } from '../runtime/activity-options';
import { deleteBranch, deleteSnapshot, verify } from '../steps/neon';

/** A candidate that passed its checks: its branch and the endpoint the checks used. */
export type Candidate = { branchId: string; endpointId: string };

/** The checked candidate, or the run's result when it stopped (rejected, timed out, a failed check). */
export async function prepareCandidate(p: Promotion, gate: ApprovalGate): Promise<Candidate | PromoteResult> {
  const { run, o, plan, result, saga } = p;
  const { projectId } = p.where;
  const candidateSnap = await snapshotStep(
    p,
    'snapshot_dev',
    plan.devBranchId,
    p.names.candidate,
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
      const why = result.approval ? `rejected by ${result.approval.by}` : 'no approval before the timeout';
      return abort(p, `${why}; prod untouched`);
    }
  } else run.skip('approval', 'not required');

  // The candidate as a branch of its own, next to prod: checked before anything touches prod.
  const candidate = await run.step('restore_candidate', async (s) => {
    const r = await neonMutations.restoreSnapshot({
      projectId,
      snapshotId: candidateSnap.id,
      targetBranchId: plan.prodBranchId,
      finalize: false,
      name: p.names.candidate,
    });
    s.ids.branchId = r.branch.id;
    return r.branch;
  });
  p.candidateBranchId = candidate.id;
  saga.add('delete_candidate_branch', () => deleteBranch(projectId, candidate.id));
  // A restored, unfinalized branch has no compute: the checks need one.
  const endpointId = await run.step('candidate_endpoint', async (s) => {
    const r = await neonMutations.createEndpoint({ projectId, branchId: candidate.id, type: 'read_write' });
    s.ids.endpointId = r.endpoint.id;
    return r.endpoint.id;
  });
  const pre = await run.step('verify_candidate', async () => {
    const checked = await verify(p.where, candidate.id, endpointId, orConnect(o.checks));
    if (checked.ok) result.candidateFingerprint = await fingerprintOrNull(p.where, candidate.id, endpointId);
    return checked;
  });
  result.verification.candidate = pre;
  if (!pre.ok) return abort(p, `check "${pre.failedCheck}" failed on the candidate; prod untouched`);
  return { branchId: candidate.id, endpointId };
}
