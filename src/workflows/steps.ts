/** Steps shared by several workflows: resolving the environment, swapping a snapshot in, verifying, retiring backups. */
import { ApplicationFailure, log } from '@temporalio/workflow';
import type {
  BranchWithEndpoints,
  ResolveEnvironmentResult,
  VerificationCheck,
  VerifyBranchResult,
} from '../activities/types';
import { compensation, mutation, read, settle, verification } from './proxies';
import { isoAfter } from './names';

export type Where = { projectId: string; databaseName: string; roleName: string };

/** A refusal: the run cannot go ahead as asked, nothing was changed, and retrying will not help. */
export function refuse(message: string, type = 'Refused'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Prod and dev by name (IDs change on every finalized restore, so they are never taken from an earlier run). */
export async function resolveEnvironment(input: {
  projectId: string;
  prodBranchName: string;
  devBranchName: string;
}): Promise<ResolveEnvironmentResult> {
  return read.resolveEnvironment({
    projectId: input.projectId,
    prodBranchName: input.prodBranchName,
    devBranchName: input.devBranchName,
  });
}

export function requireBranch(branch: BranchWithEndpoints | null, role: string, name: string): BranchWithEndpoints {
  if (!branch) throw refuse(`the ${role} branch "${name}" does not exist`, 'BranchMissing');
  return branch;
}

/** The branch's read-write endpoint: the one whose connection string applications use. */
export function readWriteEndpoint(branch: BranchWithEndpoints): string | undefined {
  return branch.endpoints.find((e) => e.type === 'read_write')?.id;
}

export async function verify(
  where: Where,
  branchId: string,
  endpointId: string | undefined,
  checks: VerificationCheck[],
): Promise<VerifyBranchResult> {
  return verification.verifyBranch({
    projectId: where.projectId,
    branchId,
    ...(endpointId ? { endpointId } : {}),
    databaseName: where.databaseName,
    roleName: where.roleName,
    checks,
  });
}

export type Swap = { restoredBranchId: string; replacedBranchId: string };

/**
 * Restores a snapshot onto a branch in two idempotent halves: a preview branch with a deterministic name (found by
 * lineage on retry), then finalize, naming the replaced branch `oldName` so the backup is ours and findable.
 */
export async function restoreOnto(
  projectId: string,
  snapshotId: string,
  targetBranchId: string,
  names: { restored: string; old: string },
): Promise<Swap> {
  const restored = await mutation.restoreSnapshot({
    projectId,
    snapshotId,
    targetBranchId,
    finalize: false,
    name: names.restored,
  });
  await settle(projectId, restored);
  return finalizeOnto(projectId, restored.branch.id, targetBranchId, names.old);
}

/** Finalizes a restored branch in place of its target and waits until it serves the target's endpoints. */
export async function finalizeOnto(
  projectId: string,
  restoredBranchId: string,
  targetBranchId: string,
  oldName: string,
): Promise<Swap> {
  const fin = await mutation.finalizeRestore({ projectId, branchId: restoredBranchId, oldBranchName: oldName });
  await settle(projectId, fin);
  return { restoredBranchId, replacedBranchId: fin.replacedBranchId ?? targetBranchId };
}

/** Whether a restored branch already stands in for its target (the truth after an interrupted swap). */
export async function isFinalized(projectId: string, branchId: string): Promise<boolean> {
  const branch = await compensation.getBranch({ projectId, branchId });
  return branch?.restoreStatus === 'finalized';
}

/**
 * Gives a replaced branch an expiry so Neon deletes it after `retentionMs`. Neon refuses an expiry on a branch with
 * children (previews of an old dev): that backup is left to the janitor, and the run says so in its log.
 */
export async function retireBackup(projectId: string, branchId: string, retentionMs: number): Promise<string | null> {
  const expiresAt = isoAfter(Date.now(), retentionMs);
  try {
    await compensation.updateBranch({ projectId, branchId, protected: false, expiresAt });
    return expiresAt;
  } catch (err) {
    log.warn('backup branch kept without expiry (the janitor will delete it)', { branchId, error: String(err) });
    return null;
  }
}

export async function deleteSnapshot(projectId: string, snapshotId: string): Promise<void> {
  await settle(projectId, await compensation.deleteSnapshot({ projectId, snapshotId }), compensation);
}

export async function deleteBranch(projectId: string, branchId: string): Promise<void> {
  await settle(projectId, await compensation.deleteBranch({ projectId, branchId }), compensation);
}

/** Lifts a write fence (issue 7) from the branch that has this name now; nothing happens when there is none. */
export async function liftFenceOf(where: Where, branchName: string): Promise<void> {
  const { projectId, databaseName, roleName } = where;
  await compensation.liftFence({ projectId, databaseName, roleName, branchName });
}
