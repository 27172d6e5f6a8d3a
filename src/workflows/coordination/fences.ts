/**
 * A promotion that fences prod tells its project's coordinator first, so that the fence does not outlive the run: a
 * run ended without lifting it (terminated, or reset, where no compensation runs) leaves the coordinator to lift it
 * before the next run's turn. The lift removes only a fence of ours, never the owner's own read-only setting.
 */
import { defineSignal, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { coordinatorWorkflowId } from '../contract/definitions';
import { recovery } from '../runtime/activity-options';

/** Where a run's fence is: prod of the run's project, by name (a swap or rollback changes its ID). */
export type FenceNotice = { workflowId: string; prodBranchName: string; databaseName: string; roleName: string };

export const fenceSignal = defineSignal<[FenceNotice]>('fence');

/** Tells the coordinator; a coordinator that cannot be reached leaves the fence to the run's own lifts. */
export async function noticeFence(projectId: string, notice: FenceNotice): Promise<void> {
  try {
    await getExternalWorkflowHandle(coordinatorWorkflowId(projectId)).signal(fenceSignal, notice);
  } catch (err) {
    log.warn('could not tell the coordinator of the fence', { projectId, error: String(err) });
  }
}

/**
 * The notice, or null when it is not one: anyone with access to the namespace can signal the coordinator, and a
 * handler that throws would fail its workflow task.
 */
export function fenceNoticeOf(raw: unknown): FenceNotice | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { workflowId, prodBranchName, databaseName, roleName } = raw as Record<string, unknown>;
  const text = (value: unknown, most: number) => typeof value === 'string' && value.length > 0 && value.length <= most;
  if (!text(workflowId, 200) || !text(prodBranchName, 200) || !text(databaseName, 63) || !text(roleName, 63))
    return null;
  return { workflowId, prodBranchName, databaseName, roleName } as FenceNotice;
}

/** After a fenced run ended, whatever its end: lifts a fence of ours still up on prod (none after a normal end). */
export async function liftFenceLeftBy(projectId: string, notice: FenceNotice): Promise<void> {
  const { workflowId, prodBranchName, databaseName, roleName } = notice;
  try {
    const lifted = await recovery.liftFence({ projectId, databaseName, roleName, branchName: prodBranchName });
    if (lifted.wasFenced) log.warn('lifted the write fence an ended run left on prod', { projectId, workflowId });
  } catch (err) {
    log.warn('could not lift the fence an ended run may have left on prod', {
      projectId,
      workflowId,
      error: String(err),
    });
  }
}
