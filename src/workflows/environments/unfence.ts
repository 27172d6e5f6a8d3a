/**
 * `unfence`: the operator lifts a write fence of ours from prod, whichever run raised it: the way out when a fence
 * outlived its run and neither the coordinator nor a later promotion lifted it yet. A promotion still short of its
 * swap then stops (writes got past its fence); one in its swap loses the writes from here to the swap, as any fence
 * lifted early would. It refuses prod's own read-only setting (the owner's, no fence of ours). Not admitted through
 * the project's coordinator: it has to work while a stuck run holds the project.
 */
import { refuse } from '../contract/failures';
import { unfenceInput, type UnfenceInput } from '../contract/inputs';
import { parseInput } from '../contract/validate';
import { databaseWrites } from '../runtime/activity-options';

export type { UnfenceInput };

export type UnfenceResult = {
  outcome: 'lifted' | 'no_fence';
  projectId: string;
  /** Prod's branch as found by name. */
  branchId: string;
  /** Sessions that started read-only under the fence, ended so that they reconnect writable. */
  sessionsEnded: number;
};

export async function unfence(raw: UnfenceInput): Promise<UnfenceResult> {
  const { projectId, prodBranchName, databaseName, roleName } = parseInput(unfenceInput(), raw);
  const lifted = await databaseWrites.liftFence({ projectId, databaseName, roleName, branchName: prodBranchName });
  if (lifted.skipped === 'branch_not_found')
    throw refuse(`project ${projectId} has no branch named "${prodBranchName}"`, 'BranchMissing');
  if (lifted.skipped === 'no_endpoint')
    throw refuse(`branch "${prodBranchName}" has no read-write endpoint to reach its database`, 'NoEndpoint');
  if (lifted.ownerReadOnly) {
    throw refuse(
      `"${prodBranchName}" is read-only by its owner's own setting (default_transaction_read_only on database ` +
        `${databaseName}), not by a fence of neon-promote: left as it is`,
      'OwnerReadOnly',
    );
  }
  return {
    outcome: lifted.wasFenced ? 'lifted' : 'no_fence',
    projectId,
    branchId: lifted.branchId!,
    sessionsEnded: lifted.sessionsEnded,
  };
}
