/**
 * Resets a preview to dev's head in place (Neon's branch restore from the parent): the preview keeps its branch ID,
 * endpoint and connection string, so whatever points at it keeps working; sessions open on it are dropped.
 */
import { neonMutations, neonReads } from '../runtime/activity-options';
import { previewRef, type PreviewRef } from '../contract/inputs';
import { Run } from '../runtime/run';
import { refuse } from '../contract/failures';
import { readWriteEndpoint } from '../steps/environment';
import { parseInput } from '../contract/validate';

export type ResetPreviewResult = {
  outcome: 'reset';
  projectId: string;
  name: string;
  /** Unchanged by a reset (before = after); kept as a pair for callers of the delete-and-recreate version. */
  branchId: { before: string; after: string };
  endpointId: string;
  /** Neon's `last_reset_at` after the reset. */
  resetAt: string | null;
};

export async function resetPreview(raw: PreviewRef): Promise<ResetPreviewResult> {
  const run = new Run('resetPreview');
  const options = parseInput(previewRef(), raw);
  run.begin(options.projectId);
  const { projectId, name } = options;
  const preview = await run.step('plan', async () => {
    const [branch, dev] = [
      await neonReads.getBranch({ projectId, branchName: name }),
      await neonReads.getBranch({ projectId, branchName: options.devBranchName }),
    ];
    if (!dev) throw refuse(`the dev branch "${options.devBranchName}" does not exist`, 'BranchMissing');
    if (!branch) throw refuse(`preview "${name}" does not exist (create it first)`, 'BranchMissing');
    if (branch.parentId !== dev.id) throw refuse(`branch "${name}" is not a preview (a child of dev)`, 'NotAPreview');
    return branch;
  });
  const reset = await run.step('reset', async (step) => {
    step.ids = { branchId: preview.id };
    // Workflow time, fixed for the step: a retried attempt finds the reset by last_reset_at instead of resetting again.
    return neonMutations.resetBranch({ projectId, branchId: preview.id, resetAfter: new Date().toISOString() });
  });
  run.finish('reset');
  return {
    outcome: 'reset',
    projectId,
    name,
    branchId: { before: preview.id, after: reset.branch.id },
    endpointId: readWriteEndpoint(preview) ?? '',
    resetAt: reset.resetAt,
  };
}
