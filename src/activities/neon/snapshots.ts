import { z } from 'zod';
import type { ActivityDeps } from '../deps';
import { nullOn404 } from './environment';
import { activity, currentContext, failure } from '../failures';
import { isoTimestamp, neonId, projectInput, resourceName } from '../inputs';
import { operationIds, toSnapshotInfo } from './mappers';
import { pendingOperationIds, settlingAll } from './operations';
import type { NeonActivities } from '../contract';

const ensureSnapshotInput = z
  .object({
    projectId: neonId,
    branchId: neonId,
    name: resourceName,
    expiresAt: isoTimestamp.optional(),
    lsn: z.string().min(1).optional(),
    timestamp: isoTimestamp.optional(),
  })
  .refine((input) => !(input.lsn && input.timestamp), { message: 'give lsn or timestamp, not both', path: ['lsn'] });

/** How far Neon's clock may be behind the Temporal server's when a retry dates its own snapshot. */
const CLOCK_SKEW_MS = 1000;

/** Snapshot activities. Names are the idempotency keys: the workflow derives them from its ID and step. */
export function snapshotActivities(deps: ActivityDeps) {
  const { neon } = deps;
  return settlingAll(deps, ['ensureSnapshot', 'deleteSnapshot'], {
    listSnapshots: activity(projectInput, async ({ projectId }, call) =>
      (await neon.listSnapshots(projectId, call)).map(toSnapshotInfo),
    ),

    /**
     * Creates the snapshot, or on a retry returns the one an earlier attempt made (its response lost) instead of
     * spending another quota slot.
     *
     * Attempt 1 creates without looking (one GET saved per snapshot): nothing of *this step's* can exist yet, because
     * only an earlier attempt of this same activity execution could have made it, and Temporal numbers every
     * re-delivery (worker killed, timeout, lost response) 2 or more. A same-named snapshot can still exist at
     * attempt 1, but it is never this step's: an earlier run under a reused workflow ID (its rollback snapshot is
     * kept), or the run before a workflow reset. Reusing it would be wrong (a rollback point from before the earlier
     * run, or a candidate of old dev data), so attempt 1 takes a fresh one: the data as of now, one extra slot until
     * the older one expires or the janitor deletes it. The workflows never schedule two snapshots of one name in a run.
     * A retry therefore looks only at snapshots made since the step was first scheduled (Neon's whole seconds, minus
     * a second for clock skew), so an older namesake neither masks nor conflicts with the attempt's own.
     */
    ensureSnapshot: activity(
      ensureSnapshotInput,
      async ({ projectId, branchId, name, expiresAt, lsn, timestamp }, call) => {
        const info = currentContext()?.info;
        if ((info?.attempt ?? 1) > 1) {
          const since = Math.floor((info?.scheduledTimestampMs ?? 0) / 1000) * 1000 - CLOCK_SKEW_MS;
          const existing = (await neon.listSnapshots(projectId, call)).filter(
            (snapshot) => snapshot.name === name && !(Date.parse(snapshot.created_at) < since),
          );
          if (existing.length > 1) throw failure('NeonConflict', `${existing.length} snapshots are named "${name}"`);
          const found = existing[0];
          if (found) {
            if (found.source_branch_id && found.source_branch_id !== branchId) {
              throw failure(
                'NeonConflict',
                `snapshot "${name}" (${found.id}) was taken from branch ${found.source_branch_id}, not ${branchId}`,
              );
            }
            // The create was this step's own, its response lost: its operations may still be running.
            const pending = await pendingOperationIds(
              neon,
              projectId,
              { branchIds: [found.source_branch_id ?? branchId] },
              call,
            );
            return { snapshot: toSnapshotInfo(found), created: false, operationIds: pending };
          }
        }
        const res = await neon.createSnapshot(projectId, branchId, { name, expiresAt, lsn, timestamp }, call);
        return { snapshot: toSnapshotInfo(res.snapshot), created: true, operationIds: operationIds(res.operations) };
      },
    ),

    updateSnapshot: activity(
      z.object({ projectId: neonId, snapshotId: neonId, name: resourceName }),
      async ({ projectId, snapshotId, name }, call) => {
        const current = (await neon.listSnapshots(projectId, call)).find(({ id }) => id === snapshotId);
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
  }) satisfies Partial<NeonActivities>;
}
