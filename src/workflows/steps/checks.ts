/** The caller's checks on a branch: planned before anything changes, run once the branch holds what they describe. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { VerificationCheck, VerifyBranchResult } from '../../activities/contract';
import type { StepRecord } from '../contract/definitions';
import type { DatabaseRef } from '../contract/database-ref';
import { CONNECTIVITY_CHECK } from '../contract/inputs';
import { branchChecks, neonReads } from '../runtime/activity-options';

/** The caller's checks, or, without any, the check that the branch answers at all. */
export const orConnect = (checks: VerificationCheck[]): VerificationCheck[] =>
  checks.length ? checks : [CONNECTIVITY_CHECK];

/** Runs `checks` on a branch, through the given endpoint (its read-write one if none). */
export async function verify(
  database: DatabaseRef,
  branchId: string,
  endpointId: string | undefined,
  checks: VerificationCheck[],
  { fingerprint = false } = {},
): Promise<VerifyBranchResult> {
  return branchChecks.verifyBranch({
    projectId: database.projectId,
    branchId,
    ...(endpointId ? { endpointId } : {}),
    databaseName: database.databaseName,
    roleName: database.roleName,
    checks,
    ...(fingerprint ? { fingerprint } : {}),
  });
}

/**
 * A verification step whose checks ran but did not all pass is shown failed (not the green tick of a step that ran),
 * with each failed check and why: what the operator needs, in the progress query, the CLI and the UI's details.
 */
export function judged(step: StepRecord, result: VerifyBranchResult): VerifyBranchResult {
  if (result.ok) return result;
  step.status = 'failed';
  const failed = result.checks.filter((check) => !check.ok);
  step.detail = failed.map((check) => `${check.name}: ${check.detail ?? 'failed'}`).join('; ');
  return result;
}

/**
 * Refuses, before anything changes at Neon, SQL checks that are not read-only queries (they would be refused only at
 * verification, after snapshots and restores): Postgres plans each one on `branch` (never runs it). `lists` names
 * each list of checks by its input field, so the refusal says e.g. "checks.0.sql: must be a read-only query (...)".
 */
export async function requireReadOnlyChecks(
  database: DatabaseRef,
  branch: { id: string; endpointId: string | undefined },
  lists: Record<string, VerificationCheck[]>,
  { refuseMissing = false }: { refuseMissing?: boolean } = {},
): Promise<void> {
  const fields = Object.entries(lists).filter(([, checks]) => checks.some((check) => check.kind === 'sql'));
  for (const [field, checks] of fields) {
    const { refused } = await neonReads.explainChecks({
      projectId: database.projectId,
      databaseName: database.databaseName,
      roleName: database.roleName,
      branchId: branch.id,
      ...(branch.endpointId ? { endpointId: branch.endpointId } : {}),
      checks,
      ...(refuseMissing ? { refuseMissing } : {}),
    });
    const first = refused[0];
    if (first) {
      const path = `${field}.${first.index}.sql`;
      const unplannable = first.reason.startsWith('it cannot be planned');
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: unplannable
          ? `invalid input: ${path}: ${first.reason} (the checks run on dev's schema)`
          : `invalid input: ${path}: must be a read-only query (${first.reason})`,
        details: [{ field: path }],
      });
    }
  }
}
