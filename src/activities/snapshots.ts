import { z } from 'zod';
import type { ActivityDeps } from './deps';
import { nullOn404 } from './environment';
import { activity, failure } from './failures';
import { isoTimestamp, neonId, projectInput, resourceName } from './inputs';
import { operationIds, toSnapshotInfo } from './mappers';
import { pendingOperationIds } from './operations';
import type { NeonActivities } from './types';

const ensureSnapshotInput = z
  .object({
    projectId: neonId,
    branchId: neonId,
    name: resourceName,
    expiresAt: isoTimestamp.optional(),
    lsn: z.string().min(1).optional(),
    timestamp: isoTimestamp.optional(),
  })
  .refine((i) => !(i.lsn && i.timestamp), { message: 'give lsn or timestamp, not both', path: ['lsn'] });

/** Snapshot activities. Names are the idempotency keys: the workflow derives them from its ID and step. */
export function snapshotActivities({ neon }: ActivityDeps) {
  return {
    listSnapshots: activity(projectInput, async ({ projectId }, call) =>
      (await neon.listSnapshots(projectId, call)).map(toSnapshotInfo),
    ),

    /**
     * Finds the snapshot by name and creates it only when absent: a retry after a lost create response (the snapshot
     * exists, the activity never heard) returns the existing one instead of spending another quota slot.
     */
    ensureSnapshot: activity(
      ensureSnapshotInput,
      async ({ projectId, branchId, name, expiresAt, lsn, timestamp }, call) => {
        const existing = (await neon.listSnapshots(projectId, call)).filter((s) => s.name === name);
        if (existing.length > 1) throw failure('NeonConflict', `${existing.length} snapshots are named "${name}"`);
        const found = existing[0];
        if (found) {
          if (found.source_branch_id && found.source_branch_id !== branchId) {
            throw failure(
              'NeonConflict',
              `snapshot "${name}" (${found.id}) was taken from branch ${found.source_branch_id}, not ${branchId}`,
            );
          }
          // The create may have been this run's own, its response lost: its operations may still be running.
          const pending = await pendingOperationIds(
            neon,
            projectId,
            { branchIds: [found.source_branch_id ?? branchId] },
            call,
          );
          return { snapshot: toSnapshotInfo(found), created: false, operationIds: pending };
        }
        const res = await neon.createSnapshot(projectId, branchId, { name, expiresAt, lsn, timestamp }, call);
        return { snapshot: toSnapshotInfo(res.snapshot), created: true, operationIds: operationIds(res.operations) };
      },
    ),

    updateSnapshot: activity(
      z.object({ projectId: neonId, snapshotId: neonId, name: resourceName }),
      async ({ projectId, snapshotId, name }, call) => {
        const current = (await neon.listSnapshots(projectId, call)).find((s) => s.id === snapshotId);
        if (!current) throw failure('NeonNotFound', `snapshot ${snapshotId} does not exist in project ${projectId}`);
        if (current.name === name) return { snapshot: toSnapshotInfo(current), changed: false };
        return {
          snapshot: toSnapshotInfo(await neon.updateSnapshot(projectId, snapshotId, { name }, call)),
          changed: true,
        };
      },
    ),

    /** A snapshot that is already gone counts as deleted by this call's intent: `deleted: false`, no failure. */
    deleteSnapshot: activity(
      z.object({ projectId: neonId, snapshotId: neonId }),
      async ({ projectId, snapshotId }, call) => {
        const ops = await neon.deleteSnapshot(projectId, snapshotId, call).catch(nullOn404);
        return ops ? { deleted: true, operationIds: operationIds(ops) } : { deleted: false, operationIds: [] };
      },
    ),
  } satisfies Partial<NeonActivities>;
}
