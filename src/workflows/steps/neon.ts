/** Steps shared by several workflows: resolving the environment, swapping a snapshot in, verifying, retiring backups. */
import { ApplicationFailure, log } from '@temporalio/workflow';
import type * as A from '../../activities/contract';
import { branchChecks, cleanup, compensations, neonMutations, neonReads } from '../runtime/activity-options';
import { isoAfter } from '../contract/names';

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
}): Promise<A.ResolveEnvironmentResult> {
  return neonReads.resolveEnvironment({
    projectId: input.projectId,
    prodBranchName: input.prodBranchName,
    devBranchName: input.devBranchName,
  });
}

export function requireBranch(branch: A.BranchWithEndpoints | null, role: string, name: string): A.BranchWithEndpoints {
  if (!branch) throw refuse(`the ${role} branch "${name}" does not exist`, 'BranchMissing');
  return branch;
}

/** The branch's read-write endpoint: the one whose connection string applications use. */
export function readWriteEndpoint(branch: A.BranchWithEndpoints): string | undefined {
  return branch.endpoints.find((e) => e.type === 'read_write')?.id;
}

export async function verify(
  where: Where,
  branchId: string,
  endpointId: string | undefined,
  checks: A.VerificationCheck[],
): Promise<A.VerifyBranchResult> {
  return branchChecks.verifyBranch({
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
  const restored = await neonMutations.restoreSnapshot({
    projectId,
    snapshotId,
    targetBranchId,
    finalize: false,
    name: names.restored,
  });
  return finalizeOnto(projectId, restored.branch.id, targetBranchId, names.old);
}

/** Finalizes a restored branch in place of its target and waits until it serves the target's endpoints. */
export async function finalizeOnto(
  projectId: string,
  restoredBranchId: string,
  targetBranchId: string,
  oldName: string,
): Promise<Swap> {
  const finalized = await neonMutations.finalizeRestore({
    projectId,
    branchId: restoredBranchId,
    oldBranchName: oldName,
  });
  return { restoredBranchId, replacedBranchId: finalized.replacedBranchId ?? targetBranchId };
}

/** Whether a restored branch already stands in for its target (the truth after an interrupted swap). */
export async function isFinalized(projectId: string, branchId: string): Promise<boolean> {
  const branch = await compensations.getBranch({ projectId, branchId });
  return branch?.restoreStatus === 'finalized';
}

/**
 * Gives a replaced branch an expiry so Neon deletes it after `retentionMs`. Neon refuses an expiry on a branch with
 * children (previews of an old dev): that backup is left to the janitor, and the run says so in its log.
 */
export async function retireBackup(projectId: string, branchId: string, retentionMs: number): Promise<string | null> {
  const expiresAt = isoAfter(Date.now(), retentionMs);
  try {
    await neonMutations.updateBranch({ projectId, branchId, protected: false, expiresAt });
    return expiresAt;
  } catch (err) {
    log.warn('backup branch kept without expiry (the janitor will delete it)', { branchId, error: String(err) });
    return null;
  }
}

export async function deleteSnapshot(projectId: string, snapshotId: string): Promise<void> {
  await cleanup.deleteSnapshot({ projectId, snapshotId });
}

export async function deleteBranch(projectId: string, branchId: string): Promise<void> {
  await cleanup.deleteBranch({ projectId, branchId });
}

export async function deleteEndpoint(projectId: string, endpointId: string): Promise<void> {
  await cleanup.deleteEndpoint({ projectId, endpointId });
}

/**
 * Refuses, before anything changes at Neon, SQL checks that are not read-only queries (they would be refused only at
 * verification, after snapshots and restores): Postgres plans each one on `branchId` (never runs it). `lists` names
 * each list of checks by its input field, so the refusal says e.g. "checks.0.sql: must be a read-only query (...)".
 */
export async function requireReadOnlyChecks(
  where: Where,
  branch: { id: string; endpointId: string | undefined },
  lists: Record<string, A.VerificationCheck[]>,
): Promise<void> {
  const fields = Object.entries(lists).filter(([, checks]) => checks.some((c) => c.kind === 'sql'));
  if (fields.length === 0) return;
  for (const [field, checks] of fields) {
    const { refused } = await neonReads.explainChecks({
      projectId: where.projectId,
      databaseName: where.databaseName,
      roleName: where.roleName,
      branchId: branch.id,
      ...(branch.endpointId ? { endpointId: branch.endpointId } : {}),
      checks,
    });
    const first = refused[0];
    if (first) {
      const path = `${field}.${first.index}.sql`;
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `invalid input: ${path}: must be a read-only query (${first.reason})`,
        details: [{ field: path }],
      });
    }
  }
}

/** Lifts a write fence (issue 7) from the branch that has this name now; nothing happens when there is none. */
export async function liftFenceOf(where: Where, branchName: string): Promise<void> {
  const { projectId, databaseName, roleName } = where;
  await compensations.liftFence({ projectId, databaseName, roleName, branchName });
}
