/** Deletes a preview branch of dev, now or at a given time (the durable expiry timer for previews past 30 days). */
import { sleep } from '@temporalio/workflow';
import { neonReads } from '../runtime/activity-options';
import { deletePreviewInput, type DeletePreviewInput } from '../contract/inputs';
import { Run } from '../runtime/run';
import { refuse } from '../contract/failures';
import { deleteBranch } from '../steps/cleanup';
import { parseInput } from '../contract/validate';

export type DeletePreviewResult = {
  outcome: 'deleted' | 'noop';
  projectId: string;
  name: string;
  branchId: string | null;
};

export async function deletePreview(raw: DeletePreviewInput): Promise<DeletePreviewResult> {
  const run = new Run('deletePreview');
  const options = parseInput(deletePreviewInput(), raw);
  run.begin(options.projectId);
  const { projectId, name } = options;
  if (options.at) {
    const wait = Date.parse(options.at) - Date.now();
    if (wait > 0) await run.step('wait_for_expiry', () => sleep(wait));
  }
  const branch = await run.step('find', () => neonReads.getBranch({ projectId, branchName: name }));
  const dev = await neonReads.getBranch({ projectId, branchName: options.devBranchName });
  if (!branch || (options.branchId && branch.id !== options.branchId)) {
    run.finish('noop', 'no such preview (already deleted)');
    return { outcome: 'noop', projectId, name, branchId: null };
  }
  // Only previews: a child of dev. A name typo must not delete prod or dev.
  if (!dev || branch.parentId !== dev.id)
    throw refuse(`branch "${name}" is not a preview (a child of dev)`, 'NotAPreview');
  await run.step('delete_branch', () => deleteBranch(projectId, branch.id));
  run.finish('deleted');
  return { outcome: 'deleted', projectId, name, branchId: branch.id };
}
