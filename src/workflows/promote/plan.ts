/** Step 1 of a promotion: what would happen, and whether it can happen at all. Changes nothing in a dry run. */
import type { CompareSchemaResult } from '../../activities/contract';
import { neonReads } from '../runtime/activity-options';
import { databaseRefOf } from '../contract/database-ref';
import type { ForkPoint } from '../contract/definitions';
import type { PromoteOptions } from '../contract/inputs';
import { refuse } from '../contract/failures';
import { namesOf } from '../contract/names';
import { requireReadOnlyChecks } from '../steps/checks';
import { deleteSnapshot } from '../steps/cleanup';
import { readWriteEndpoint, requireBranch, resolveEnvironment } from '../steps/environment';
import { currentForkPoint } from '../steps/fork-point';
import { roomFor } from './room';

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
  /** Our oldest rollback points deleted (or, in a dry run, that would be) to make room: the newest is always kept. */
  rotatedSnapshots: { id: string; name: string }[];
  /** The state of prod dev was forked from (null: none kept): prod's own writes are those made since. */
  forkPoint: ForkPoint | null;
  /**
   * A branch or snapshot at Neon bears a name this run gives what it creates: an earlier execution of its workflow ID
   * made it, so the run's restores and swap look for that work before sending.
   */
  ownNamesTaken: boolean;
};

export async function planPromotion(options: PromoteOptions, workflowId: string): Promise<PromotionPlan> {
  const env = await resolveEnvironment(options);
  const prod = requireBranch(env.prod, 'prod', options.prodBranchName);
  const dev = requireBranch(env.dev, 'dev', options.devBranchName);
  if (prod.id === dev.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
  const prodEndpointId = readWriteEndpoint(prod);
  if (!prodEndpointId) throw refuse(`prod (${prod.id}) has no read-write endpoint to verify through`, 'NoEndpoint');
  // The checks run on the candidate (dev's data and schema): planned on dev, before anything is deleted or created.
  await requireReadOnlyChecks(
    databaseRefOf(options),
    { id: dev.id, endpointId: readWriteEndpoint(dev) },
    { checks: options.checks, postSwapChecks: options.postSwapChecks },
    // The candidate and, after the swap, prod have dev's schema: a check naming what dev lacks can never pass.
    { refuseMissing: true },
  );

  const room = roomFor(options, env);
  if (room.refusal) throw refuse(room.refusal.message, room.refusal.type);
  if (!options.dryRun) for (const { snapshot } of room.deletions) await deleteSnapshot(options.projectId, snapshot.id);
  const schemaDiff = await neonReads.compareSchema({
    projectId: options.projectId,
    branchId: dev.id,
    baseBranchId: prod.id,
    databaseName: options.databaseName,
  });
  const own = namesOf(workflowId);
  return {
    prodBranchId: prod.id,
    prodEndpointId,
    devBranchId: dev.id,
    schemaDiff,
    freeSnapshotSlots: env.freeSnapshotSlots,
    expiredSnapshots: room.deletions
      .filter(({ why }) => why === 'expired')
      .map(({ snapshot }) => ({ id: snapshot.id, name: snapshot.name })),
    rotatedSnapshots: room.deletions
      .filter(({ why }) => why === 'rotated')
      .map(({ snapshot }) => ({ id: snapshot.id, name: snapshot.name })),
    forkPoint: currentForkPoint(env.snapshots),
    ownNamesTaken: [...env.branches, ...env.snapshots].some(({ name }) => own.has(name)),
  };
}
