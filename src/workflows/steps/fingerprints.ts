/**
 * Data fingerprints of branches (per table row count and content hash), and the baseline refreshDev compares dev's
 * with: what a promotion took from dev, or what a refresh left on it (environments/refresh.ts).
 */
import { isCancellation, log } from '@temporalio/workflow';
import type { FingerprintBranchResult } from '../../activities/contract';
import { baselineReads, branchChecks } from '../runtime/activity-options';
import type { DatabaseRef } from '../contract/database-ref';

export const findRefreshBaseline = baselineReads.findRefreshBaseline;

/** The data of a branch's tables in the public schema, read through the given endpoint (its read-write one if none). */
export function fingerprint(
  database: DatabaseRef,
  branchId: string,
  endpointId: string | undefined,
): Promise<FingerprintBranchResult> {
  return branchChecks.fingerprintBranch({ ...database, branchId, ...(endpointId ? { endpointId } : {}) });
}

/**
 * Like `fingerprint`, but a failure is logged and yields null: a missing fingerprint only makes later checks
 * stricter.
 */
export async function fingerprintOrNull(
  database: DatabaseRef,
  branchId: string,
  endpointId: string | undefined,
): Promise<FingerprintBranchResult | null> {
  try {
    return await fingerprint(database, branchId, endpointId);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('no data fingerprint recorded', { branchId, error: String(err) });
    return null;
  }
}

/** Tables whose rows differ, or that exist on one side only, sorted by name. */
export function changedTables(earlier: FingerprintBranchResult, later: FingerprintBranchResult): string[] {
  const before = new Map(earlier.tables.map((table) => [table.table, table]));
  const after = new Map(later.tables.map((table) => [table.table, table]));
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .filter(
      (name) => before.get(name)?.hash !== after.get(name)?.hash || before.get(name)?.rows !== after.get(name)?.rows,
    )
    .sort();
}
