/**
 * Resets a preview to dev's head. The activities offer no branch reset (Neon's POST .../branches/{id}/restore with
 * source_branch_id = parent), so the preview is deleted and made again from dev under the same name, with the same
 * expiry: the data is dev's head, the branch and endpoint IDs are new. See the report of issue 5.
 */
import { mutation, read, settle } from './proxies';
import { previewRef, type PreviewRef } from './inputs';
import { Run } from './progress';
import { deleteBranch, refuse } from './steps';
import { parseInput } from './validate';

export type ResetPreviewResult = {
  outcome: 'reset';
  projectId: string;
  name: string;
  branchId: { before: string; after: string };
  endpointId: string;
};

export async function resetPreview(raw: PreviewRef): Promise<ResetPreviewResult> {
  const run = new Run('resetPreview');
  const o = parseInput(previewRef, raw);
  run.begin(o.projectId);
  const { projectId, name } = o;
  const found = await run.step('plan', async () => {
    const [branch, dev] = [
      await read.getBranch({ projectId, branchName: name }),
      await read.getBranch({ projectId, branchName: o.devBranchName }),
    ];
    if (!dev) throw refuse(`the dev branch "${o.devBranchName}" does not exist`, 'BranchMissing');
    if (branch && branch.parentId !== dev.id)
      throw refuse(`branch "${name}" is not a preview (a child of dev)`, 'NotAPreview');
    return { branch, dev };
  });
  // A retry after the delete finds no branch and goes on to recreate it: the name is the key.
  if (found.branch) await run.step('delete_branch', () => deleteBranch(projectId, found.branch!.id));
  const expiresAt = found.branch?.expiresAt ?? undefined;
  const created = await run.step('create_branch', async (s) => {
    const r = await mutation.createBranch({
      projectId,
      name,
      parentId: found.dev.id,
      endpointType: 'read_write',
      ...(expiresAt && Date.parse(expiresAt) > Date.now() ? { expiresAt } : {}),
    });
    await settle(projectId, r);
    s.ids = { branchId: r.branch.id };
    return r.branch;
  });
  run.finish('reset');
  return {
    outcome: 'reset',
    projectId,
    name,
    branchId: { before: found.branch?.id ?? created.id, after: created.id },
    endpointId: created.endpoints.find((e) => e.type === 'read_write')?.id ?? '',
  };
}
