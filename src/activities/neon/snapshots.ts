import { z } from 'zod';
import {
  type CallOptions,
  NeonBadRequestError,
  NeonNotFoundError,
  NeonQuotaExceededError,
  NeonUnauthorizedError,
} from '../../neon';
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

/** A refusal of the create that a taken name may explain; quota, auth and missing-branch refusals have other causes. */
function mayBeNameTaken(err: unknown): boolean {
  return (
    err instanceof NeonBadRequestError &&
    !(err instanceof NeonNotFoundError) &&
    !(err instanceof NeonUnauthorizedError) &&
    !(err instanceof NeonQuotaExceededError)
  );
}

/** Snapshot activities. Names are the idempotency keys: the workflow derives them from its ID and step. */
export function snapshotActivities(deps: ActivityDeps) {
  const { neon } = deps;

  /**
   * The snapshot of this name that this step made (an earlier attempt whose response was lost), with whatever of its
   * operations is still running; null if there is none. Only snapshots made since the step was first scheduled count
   * (Neon's whole seconds, minus a second for clock skew): an older namesake is an earlier run's (a reused workflow
   * ID keeps its rollback snapshot, a workflow reset re-runs the step), and reusing it would be wrong (a rollback point
   * from before that run, or a candidate of old dev data). `taken` says whether the name is held by such an older one.
   */
  async function ownSnapshot(input: { projectId: string; branchId: string; name: string }, call: CallOptions) {
    const info = currentContext()?.info;
    const since = Math.floor((info?.scheduledTimestampMs ?? 0) / 1000) * 1000 - CLOCK_SKEW_MS;
    const namesakes = (await neon.listSnapshots(input.projectId, call)).filter(({ name }) => name === input.name);
    const own = namesakes.filter((snapshot) => !(Date.parse(snapshot.created_at) < since));
    if (own.length > 1) throw failure('NeonConflict', `${own.length} snapshots are named "${input.name}"`);
    const found = own[0];
    if (!found) return { found: null, taken: namesakes[0] ?? null };
    if (found.source_branch_id && found.source_branch_id !== input.branchId) {
      throw failure(
        'NeonConflict',
        `snapshot "${input.name}" (${found.id}) was taken from branch ${found.source_branch_id}, not ${input.branchId}`,
      );
    }
    // The create was this step's own, its response lost: its operations may still be running.
    const of = { branchIds: [found.source_branch_id ?? input.branchId] };
    const pending = await pendingOperationIds(neon, input.projectId, of, call);
    return { found: { snapshot: toSnapshotInfo(found), created: false, operationIds: pending }, taken: null };
  }

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
     * re-delivery (worker killed, timeout, lost response) 2 or more. A retry looks first (ownSnapshot). Neon keeps
     * snapshot names unique within a project, so a create can be refused because the name is taken: the namesake is
     * then this step's own (used, as a retry would) or an earlier run's, which is never reused (ownSnapshot) and cannot
     * be replaced under the same name either, so the step fails with a NeonConflict naming it: delete or rename it.
     */
    ensureSnapshot: activity(
      ensureSnapshotInput,
      async ({ projectId, branchId, name, expiresAt, lsn, timestamp }, call) => {
        const step = { projectId, branchId, name };
        if ((currentContext()?.info.attempt ?? 1) > 1) {
          const { found } = await ownSnapshot(step, call);
          if (found) return found;
        }
        let res;
        try {
          res = await neon.createSnapshot(projectId, branchId, { name, expiresAt, lsn, timestamp }, call);
        } catch (err) {
          if (!mayBeNameTaken(err)) throw err;
          const { found, taken } = await ownSnapshot(step, call);
          if (found) return found;
          if (!taken) throw err;
          throw failure(
            'NeonConflict',
            `snapshot name "${name}" is taken by ${taken.id} (created ${taken.created_at}, before this step), ` +
              'and Neon keeps snapshot names unique in a project: delete or rename that snapshot, then run again',
          );
        }
        return { snapshot: toSnapshotInfo(res.snapshot), created: true, operationIds: operationIds(res.operations) };
      },
    ),

    /**
     * Attempt 1 renames without reading first (one GET saved): a PATCH sets the name, so whatever an earlier execution
     * already did, the outcome is the same. A retry reads first and sends nothing when the name is already set.
     */
    updateSnapshot: activity(
      z.object({ projectId: neonId, snapshotId: neonId, name: resourceName }),
      async ({ projectId, snapshotId, name }, call) => {
        if ((currentContext()?.info.attempt ?? 1) === 1) {
          const renamed = await neon.updateSnapshot(projectId, snapshotId, { name }, call).catch(nullOn404);
          if (!renamed) throw failure('NeonNotFound', `snapshot ${snapshotId} does not exist in project ${projectId}`);
          return { snapshot: toSnapshotInfo(renamed), changed: true };
        }
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
