/**
 * Data fingerprints of branches (per table row count and content hash), and the baseline refreshDev compares dev's
 * with: what a promotion took from dev, or what a refresh left on it (refresh-dev.ts).
 */
import { isCancellation, log } from '@temporalio/workflow';
import type { FingerprintBranchResult } from '../../activities/contract';
import { baselineReads, branchChecks } from '../runtime/activity-options';
import type { Where } from './neon';

export const findRefreshBaseline = baselineReads.findRefreshBaseline;

/** The data of a branch's tables in the public schema, read through the given endpoint (its read-write one if none). */
export function fingerprint(
  where: Where,
  branchId: string,
  endpointId: string | undefined,
): Promise<FingerprintBranchResult> {
  return branchChecks.fingerprintBranch({ ...where, branchId, ...(endpointId ? { endpointId } : {}) });
}

/** Like `fingerprint`, but a failure is logged and yields null: a missing fingerprint only makes later checks stricter. */
export async function fingerprintOrNull(
  where: Where,
  branchId: string,
  endpointId: string | undefined,
): Promise<FingerprintBranchResult | null> {
  try {
    return await fingerprint(where, branchId, endpointId);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('no data fingerprint recorded', { branchId, error: String(err) });
    return null;
  }
}

/** Tables whose rows differ, or that exist on one side only, sorted by name. */
export function changedTables(a: FingerprintBranchResult, b: FingerprintBranchResult): string[] {
  const before = new Map(a.tables.map((t) => [t.table, t]));
  const after = new Map(b.tables.map((t) => [t.table, t]));
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .filter((n) => before.get(n)?.hash !== after.get(n)?.hash || before.get(n)?.rows !== after.get(n)?.rows)
    .sort();
}
