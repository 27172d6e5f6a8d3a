/**
 * A preview is a child branch of dev with a read-write endpoint and an expiry. Neon expires it itself up to
 * 30 days ahead; past that, a deletePreview run sleeping on a durable timer deletes it.
 */
import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { neonMutations, neonReads } from '../runtime/activity-options';
import { previewInput, type PreviewInput } from '../contract/inputs';
import { isoAfter, PREVIEW_PREFIX, sanitize } from '../contract/names';
import { Run } from '../runtime/run';
import { refuse } from '../contract/failures';
import { readWriteEndpoint } from '../steps/environment';
import { parseInput } from '../contract/validate';
import { deletePreview } from './delete';

/** Neon accepts a branch expiry at most this far ahead. */
const NEON_MAX_EXPIRY_MS = 30 * 86_400_000;

export type PreviewResult = {
  outcome: 'created' | 'noop';
  projectId: string;
  name: string;
  branchId: string;
  endpointId: string;
  expiresAt: string;
  /** Who deletes it at expiry: Neon, or the workflow with this ID (a durable timer). */
  expiry: { by: 'neon' } | { by: 'timer'; workflowId: string };
};

export function previewName(label: string | undefined, workflowId: string): string {
  return `${PREVIEW_PREFIX}${label ?? sanitize(workflowId).slice(0, 60)}`;
}

export async function createPreview(raw: PreviewInput): Promise<PreviewResult> {
  const run = new Run('createPreview');
  const options = parseInput(previewInput(), raw);
  run.begin(options.projectId);
  const { projectId } = options;
  const name = options.name ?? previewName(options.label, workflowInfo().workflowId);
  const expiresAt = isoAfter(Date.now(), options.expiresIn);
  const byNeon = options.expiresIn <= NEON_MAX_EXPIRY_MS;

  const dev = await run.step('plan', () => neonReads.getBranch({ projectId, branchName: options.devBranchName }));
  if (!dev) throw refuse(`the dev branch "${options.devBranchName}" does not exist`, 'BranchMissing');
  // createBranch finds a branch of this name first, so a retry (or a second request) does not make two.
  const created = await run.step('create_branch', async (step) => {
    const made = await neonMutations.createBranch({
      projectId,
      name,
      parentId: dev.id,
      endpointType: 'read_write',
      ...(byNeon ? { expiresAt } : {}),
    });
    step.ids = { branchId: made.branch.id };
    return made;
  });
  let endpointId = readWriteEndpoint(created.branch);
  if (!endpointId) {
    endpointId = await run.step('endpoint', async () => {
      const { endpoint } = await neonMutations.createEndpoint({
        projectId,
        branchId: created.branch.id,
        type: 'read_write',
      });
      return endpoint.id;
    });
  }
  let expiry: PreviewResult['expiry'] = { by: 'neon' };
  if (!byNeon) {
    const workflowId = `${workflowInfo().workflowId}-expiry`;
    await run.step('expiry_timer', () =>
      startChild(deletePreview, {
        workflowId,
        args: [{ projectId, name, devBranchName: options.devBranchName, at: expiresAt, branchId: created.branch.id }],
        // The timer outlives this run, which returns as soon as the preview is usable.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    );
    expiry = { by: 'timer', workflowId };
  }
  const outcome = created.created ? 'created' : 'noop';
  run.finish(outcome);
  return { outcome, projectId, name, branchId: created.branch.id, endpointId, expiresAt, expiry };
}
