import { z } from 'zod';
import type { CallOptions, NeonBranch, NeonClient } from '../../neon';
import type { ActivityDeps } from '../deps';
import { endpointDeletion } from './branches';
import { nullOn404, withEndpoints } from './environment';
import { activity, currentContext, failure } from '../failures';
import { isoTimestamp, neonId, resourceName } from '../inputs';
import { operationIds, toBranchInfo, toEndpointInfo } from './mappers';
import { pendingOperationIds, settlingAll } from './operations';
import type { NeonActivities } from '../contract';

/**
 * The branch an earlier attempt of this restore made, if any. Lineage is the evidence: `restored_from` is the
 * snapshot, and `restored_as` the target it replaces (or will replace); a preview without `restored_as` is matched by
 * the name the caller gave it.
 */
export function findRestored(
  branches: readonly NeonBranch[],
  snapshotId: string,
  targetBranchId: string,
  name: string | undefined,
  finalizing: boolean,
): NeonBranch | undefined {
  const fromSnapshot = branches.filter((branch) => branch.restored_from === snapshotId);
  // Unfinalized, a restored branch keeps the name it was given, and only that name tells this run's branch from
  // another restore of the same snapshot onto the same target (setup restores its baseline as dev; a promotion later
  // restores that snapshot, the fork point, next to prod as its base).
  // A finalize since renamed it after its target: then its lineage and status tell (an unfinalized one reads restored).
  if (name && !finalizing)
    return (
      fromSnapshot.find((branch) => branch.name === name) ??
      fromSnapshot.find((branch) => branch.restored_as === targetBranchId && branch.restore_status !== 'restored')
    );
  return (
    fromSnapshot.find((branch) => branch.restored_as === targetBranchId) ??
    (name ? fromSnapshot.find((branch) => !branch.restored_as && branch.name === name) : undefined)
  );
}

/**
 * Whether a branch made by a snapshot restore stands in for its target now. `restore_status` says so, except while it
 * reads `detaching`: a restored or a finalized branch may begin detaching and then continues in its original state
 * (spec BranchRestoreStatus). Then the finalize's own effects tell (spec finalizeRestoreBranch): the target was
 * renamed (to `oldName`, when the finalize gave one) and its computes moved to the restored branch. A target that is
 * gone was replaced: an unfinalized restore's target (prod, dev) is not deleted under it.
 */
export async function swappedIn(
  neon: NeonClient,
  projectId: string,
  branch: NeonBranch,
  call: CallOptions,
  oldName?: string,
): Promise<boolean> {
  if (branch.restore_status !== 'detaching') return branch.restore_status === 'finalized';
  if (!branch.restored_as) return false;
  const target = await neon.getBranch(projectId, branch.restored_as, call).catch(nullOn404);
  if (!target || (oldName !== undefined && target.name === oldName)) return true;
  const endpoints = await neon.listEndpoints(projectId, call);
  const on = (id: string) => endpoints.some((endpoint) => endpoint.branch_id === id);
  return !on(target.id) && on(branch.id);
}

async function finalize(
  neon: NeonClient,
  projectId: string,
  branchId: string,
  oldName: string | undefined,
  call: CallOptions,
) {
  return operationIds(await neon.finalizeRestore(projectId, branchId, { name: oldName }, call));
}

const firstAttempt = (): boolean => (currentContext()?.info.attempt ?? 1) === 1;

/**
 * Restores and finalizes. Both POSTs are not idempotent, so each looks for an earlier attempt's effect first, but for
 * attempt 1 of a workflow run that says it is its workflow's first execution (`firstExecution`: never reset, and its
 * own listing found nothing of its names at Neon): no earlier attempt, and no earlier execution, can have sent it.
 */

export function restoreActivities(deps: ActivityDeps) {
  const { neon } = deps;
  const deleteEndpoint = endpointDeletion(deps);
  return settlingAll(deps, ['restoreSnapshot', 'finalizeRestore', 'resetBranch'], {
    restoreSnapshot: activity(
      z.object({
        projectId: neonId,
        snapshotId: neonId,
        targetBranchId: neonId,
        finalize: z.boolean(),
        name: resourceName.optional(),
        firstExecution: z.boolean().optional(),
      }),
      async ({ projectId, snapshotId, targetBranchId, finalize: doFinalize, name, firstExecution }, call) => {
        const earlier =
          firstExecution && firstAttempt()
            ? undefined
            : findRestored(await neon.listBranches(projectId, call), snapshotId, targetBranchId, name, doFinalize);
        if (earlier) {
          const branch = await withEndpoints(neon, projectId, earlier, call);
          // The restore happened but was not finalized (a preview made before, or a finalize still pending): finish it.
          if (doFinalize && !(await swappedIn(neon, projectId, earlier, call))) {
            return {
              branch,
              alreadyDone: false,
              operationIds: await finalize(neon, projectId, earlier.id, undefined, call),
            };
          }
          const pending = await pendingOperationIds(
            neon,
            projectId,
            { branchIds: [earlier.id, targetBranchId], endpointIds: branch.endpoints.map((endpoint) => endpoint.id) },
            call,
          );
          return { branch, alreadyDone: true, operationIds: pending };
        }
        const res = await neon.restoreSnapshot(
          projectId,
          snapshotId,
          { name, targetBranchId, finalizeRestore: doFinalize },
          call,
        );
        return {
          branch: { ...toBranchInfo(res.branch), endpoints: res.endpoints.map(toEndpointInfo) },
          alreadyDone: false,
          operationIds: operationIds(res.operations),
        };
      },
    ),

    /**
     * With `deleteEndpointId`, the whole swap in one activity: that endpoint (the restored branch's own read-write one,
     * which must go before the finalize moves the target's to it: one read-write endpoint per branch) is deleted and
     * its operations waited for first. On a retry it is gone (a delete of what is gone is done) and the finalize's
     * look-up below tells whether an earlier attempt finalized.
     */
    finalizeRestore: activity(
      z.object({
        projectId: neonId,
        branchId: neonId,
        oldBranchName: resourceName.optional(),
        firstExecution: z.boolean().optional(),
        deleteEndpointId: neonId.optional(),
      }),
      async ({ projectId, branchId, oldBranchName, firstExecution, deleteEndpointId }, call) => {
        if (deleteEndpointId) await deleteEndpoint({ projectId, endpointId: deleteEndpointId });
        // Nothing can have finalized it yet; the caller knows the target it replaces.
        if (firstExecution && firstAttempt()) {
          const ids = await finalize(neon, projectId, branchId, oldBranchName, call);
          return { branchId, replacedBranchId: null, alreadyDone: false, operationIds: ids };
        }
        const branch = await neon.getBranch(projectId, branchId, call);
        const replacedBranchId = branch.restored_as;
        if (await swappedIn(neon, projectId, branch, call, oldBranchName)) {
          // A finalize whose response was lost: its endpoint moves may still be running, and a check made before they
          // finish would reach the replaced branch. The moved endpoints' operations carry the restored branch's ID.
          const pending = await pendingOperationIds(neon, projectId, { branchIds: [branchId, replacedBranchId] }, call);
          return { branchId, replacedBranchId, alreadyDone: true, operationIds: pending };
        }
        const ids = await finalize(neon, projectId, branchId, oldBranchName, call);
        return { branchId, replacedBranchId, alreadyDone: false, operationIds: ids };
      },
    ),

    /**
     * Resets a branch to its parent's head in place (Neon's branch restore with `source_branch_id` = the parent): the
     * branch keeps its ID, endpoints and connection strings; sessions on its endpoints are dropped.
     *
     * A reset leaves no lineage, so the evidence of an earlier attempt is the branch's `last_reset_at`: at or after
     * `resetAfter` (the workflow passes the step's start time), the reset happened and is not sent again. Without
     * `resetAfter` every call resets. With `preserveUnderName`, an existing branch of that name is evidence too, so a
     * retry never preserves twice. A clock behind Neon's at worst resets again: the outcome (parent's head) is the same.
     */
    resetBranch: activity(
      z.object({
        projectId: neonId,
        branchId: neonId,
        resetAfter: isoTimestamp.optional(),
        preserveUnderName: resourceName.optional(),
      }),
      async ({ projectId, branchId, resetAfter, preserveUnderName }, call) => {
        const branch = await neon.getBranch(projectId, branchId, call);
        if (!branch.parent_id) throw failure('NeonBadRequest', `branch ${branchId} has no parent to reset from`);
        const resetAt = branch.last_reset_at;
        // Neon's timestamps carry whole seconds: a reset in the step's first second counts as this step's.
        const since = resetAfter ? Math.floor(Date.parse(resetAfter) / 1000) * 1000 : Infinity;
        const preserved = preserveUnderName
          ? (await neon.listBranches(projectId, call)).some(({ name }) => name === preserveUnderName)
          : false;
        if ((resetAt && Date.parse(resetAt) >= since) || preserved) {
          const pending = await pendingOperationIds(neon, projectId, { branchIds: [branchId] }, call);
          return { branch: toBranchInfo(branch), resetAt, alreadyDone: true, operationIds: pending };
        }
        const res = await neon.restoreBranch(
          projectId,
          branchId,
          { sourceBranchId: branch.parent_id, preserveUnderName },
          call,
        );
        return {
          branch: toBranchInfo(res.branch),
          resetAt: res.branch.last_reset_at,
          alreadyDone: false,
          operationIds: operationIds(res.operations),
        };
      },
    ),
  }) satisfies Partial<NeonActivities>;
}
