/** Step 1 of a promotion: what would happen, and whether it can happen at all. Changes nothing in a dry run. */
import type { CompareSchemaResult, SnapshotInfo } from '../../activities/contract';
import { neonReads } from '../runtime/activity-options';
import type { PromoteOptions } from '../contract/inputs';
import { isOwned } from '../contract/names';
import {
  deleteSnapshot,
  readWriteEndpoint,
  refuse,
  requireBranch,
  requireReadOnlyChecks,
  resolveEnvironment,
} from '../steps/neon';

/** A promotion takes two snapshots: the rollback point and the candidate; by migrations, only the anchor. */
const slotsNeeded = (o: PromoteOptions): number => (o.strategy === 'migrations' ? 1 : 2);

export type PromotionPlan = {
  prodBranchId: string;
  /** Prod's read-write endpoint: applications connect through it and it survives the swap. */
  prodEndpointId: string;
  devBranchId: string;
  /** dev -> prod: what the promotion changes in prod's schema. */
  schemaDiff: CompareSchemaResult;
  freeSnapshotSlots: number | null;
  /** Our own expired snapshots deleted (or, in a dry run, that would be deleted) to make room. */
  expiredSnapshots: { id: string; name: string }[];
};

/** Our snapshots whose retention is over, by workflow time; Neon may not have deleted them yet. */
function expiredOwn(snapshots: SnapshotInfo[], now: number): SnapshotInfo[] {
  return snapshots.filter((s) => isOwned(s.name) && s.expiresAt !== null && Date.parse(s.expiresAt) <= now);
}

export async function planPromotion(o: PromoteOptions): Promise<PromotionPlan> {
  const env = await resolveEnvironment(o);
  const prod = requireBranch(env.prod, 'prod', o.prodBranchName);
  const dev = requireBranch(env.dev, 'dev', o.devBranchName);
  if (prod.id === dev.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
  const prodEndpointId = readWriteEndpoint(prod);
  if (!prodEndpointId) throw refuse(`prod (${prod.id}) has no read-write endpoint to verify through`, 'NoEndpoint');
  // The checks run on the candidate (dev's data and schema): planned on dev, before anything is deleted or created.
  await requireReadOnlyChecks(
    { projectId: o.projectId, databaseName: o.databaseName, roleName: o.roleName },
    { id: dev.id, endpointId: readWriteEndpoint(dev) },
    { checks: o.checks, postSwapChecks: o.postSwapChecks },
  );

  const expired = expiredOwn(env.snapshots, Date.now());
  const free = env.freeSnapshotSlots;
  const needed = slotsNeeded(o);
  if (free !== null && free < needed) {
    if (free + expired.length < needed) {
      throw refuse(
        `a promotion needs ${needed} free snapshot slots; project ${o.projectId} has ${free} of ` +
          `${env.snapshotLimit} and only ${expired.length} expired snapshot(s) of ours to delete`,
        'SnapshotQuota',
      );
    }
    if (!o.dryRun) for (const s of expired) await deleteSnapshot(o.projectId, s.id);
  }
  const schemaDiff = await neonReads.compareSchema({
    projectId: o.projectId,
    branchId: dev.id,
    baseBranchId: prod.id,
    databaseName: o.databaseName,
  });
  return {
    prodBranchId: prod.id,
    prodEndpointId,
    devBranchId: dev.id,
    schemaDiff,
    freeSnapshotSlots: free,
    expiredSnapshots: free !== null && free < needed ? expired.map((s) => ({ id: s.id, name: s.name })) : [],
  };
}
