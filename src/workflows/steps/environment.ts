/** Prod and dev as they are now: found by name, required to exist, and the endpoint applications connect through. */
import type { BranchWithEndpoints, ResolveEnvironmentResult } from '../../activities/contract';
import { refuse } from '../contract/failures';
import { neonReads } from '../runtime/activity-options';

/** Prod and dev by name (IDs change on every finalized restore, so they are never taken from an earlier run). */
export async function resolveEnvironment(input: {
  projectId: string;
  prodBranchName: string;
  devBranchName: string;
}): Promise<ResolveEnvironmentResult> {
  return neonReads.resolveEnvironment({
    projectId: input.projectId,
    prodBranchName: input.prodBranchName,
    devBranchName: input.devBranchName,
  });
}

/**
 * Prod or dev, which must exist and be a root branch: Neon takes snapshots of root branches only ("Backup & restore"),
 * and the runs snapshot prod and dev, so a child is refused here, before anything changes, not by Neon mid-run.
 */
export function requireBranch(branch: BranchWithEndpoints | null, role: string, name: string): BranchWithEndpoints {
  if (!branch) throw refuse(`the ${role} branch "${name}" does not exist`, 'BranchMissing');
  if (branch.parentId)
    throw refuse(
      `the ${role} branch "${name}" (${branch.id}) is a child of ${branch.parentId}, not a root branch; ` +
        'Neon takes snapshots of root branches only',
      'NotARootBranch',
    );
  return branch;
}

/** The branch's read-write endpoint: the one whose connection string applications use. */
export function readWriteEndpoint(branch: BranchWithEndpoints): string | undefined {
  return branch.endpoints.find((endpoint) => endpoint.type === 'read_write')?.id;
}
