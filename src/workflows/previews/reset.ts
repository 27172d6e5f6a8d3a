/**
 * Resets a preview to dev's head in place (Neon's branch restore from the parent): the preview keeps its branch ID,
 * endpoint and connection string, so whatever points at it keeps working; sessions open on it are dropped.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { BranchInfo } from '../../activities/contract';
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
  const { preview, dev } = await run.step('plan', async () => {
    const [branch, dev] = [
      await neonReads.getBranch({ projectId, branchName: name }),
      await neonReads.getBranch({ projectId, branchName: options.devBranchName }),
    ];
    if (!dev) throw refuse(`the dev branch "${options.devBranchName}" does not exist`, 'BranchMissing');
    if (!branch) throw refuse(`preview "${name}" does not exist (create it first)`, 'BranchMissing');
    if (branch.parentId !== dev.id) throw refuse(`branch "${name}" is not a preview (a child of dev)`, 'NotAPreview');
    return { preview: branch, dev };
  });
  const reset = await run.step('reset', async (step) => {
    step.ids = { branchId: preview.id };
    // Workflow time, fixed for the step: a retried attempt finds the reset by last_reset_at instead of resetting again.
    const resetAfter = new Date().toISOString();
    try {
      return await neonMutations.resetBranch({ projectId, branchId: preview.id, resetAfter });
    } catch (err) {
      throw unavailableAfterRestore(err, dev, name, Date.parse(resetAfter)) ?? err;
    }
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

/** Neon's window: "up to 24 hours" after a branch is restored from a snapshot ("Backup & restore", Limitations). */
const RESET_WINDOW_MS = 24 * 3_600_000;

/**
 * Neon makes reset from parent unavailable on a branch's children for up to 24 hours after the branch was restored from
 * a snapshot, and dev is one: setup and every refresh restore it (its `created_at` is the restore's time). A reset Neon
 * refused in that window becomes a refusal that says by when a reset is possible and how to get dev's data sooner;
 * Neon documents neither the status nor the wording of its refusal, so any refusal of a request (not a missing branch)
 * counts. Outside the window, or for a dev not made by a snapshot restore, the failure stays what it was.
 */
export function unavailableAfterRestore(
  err: unknown,
  dev: Pick<BranchInfo, 'createdAt' | 'restoredFrom'>,
  name: string,
  nowMs: number,
): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || !['NeonConflict', 'NeonBadRequest'].includes(cause.type ?? ''))
    return undefined;
  const possibleBy = Date.parse(dev.createdAt) + RESET_WINDOW_MS;
  if (!dev.restoredFrom || !(nowMs < possibleBy)) return undefined;
  return refuse(
    `Neon refused to reset preview "${name}" from dev: dev was restored from a snapshot at ${dev.createdAt}, and Neon ` +
      `makes reset from parent unavailable on its children for up to 24 hours after that, so a reset is possible by ` +
      `${new Date(possibleBy).toISOString()} at the latest. To give the preview dev's data now, delete it and create ` +
      `it again (neon-promote preview delete, then preview create): it then has a new branch ID and connection string`,
    'ResetUnavailable',
  );
}
