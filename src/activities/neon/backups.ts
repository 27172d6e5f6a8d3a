import { z } from 'zod';
import { type CallOptions, NeonBadRequestError, NeonNotFoundError } from '../../neon';
import { type ActivityDeps, systemClock } from '../deps';
import { nullOn404 } from './environment';
import { activity } from '../failures';
import { neonId } from '../inputs';
import { operationIds } from './mappers';
import { settlingAll } from './operations';
import type { NeonActivities, RetireBackupResult } from '../contract';

/** A time `ms` from `now` in whole seconds (Neon's RFC 3339 examples carry none), rounded up: never sooner than asked. */
export function expiryAfter(now: number, ms: number): string {
  return new Date(Math.ceil((now + ms) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The backup branch a swap left, given its expiry once its run is done with it. */
export function backupActivities(deps: ActivityDeps) {
  const { neon, clock = systemClock } = deps;

  /**
   * Sends the expiry counted from now, when the request leaves: an instant fixed when the step was scheduled can be
   * past by the time a late or retried attempt sends it, and Neon refuses an expiry in the past.
   */
  async function expire(projectId: string, branchId: string, retentionMs: number, call: CallOptions) {
    const expiresAt = expiryAfter(clock.now(), retentionMs);
    const res = await neon.updateBranch(projectId, branchId, { protected: false, expiresAt }, call);
    return { expiresAt: res.branch.expires_at ?? expiresAt, operationIds: operationIds(res.operations) };
  }

  return settlingAll(deps, ['retireBackup'], {
    /**
     * Where the finalize passed the default flag on (the emulator's default, `moves`), the expiry is the only call:
     * Neon accepting it says the backup is not the default. Only a refusal has the backup read; if it still has the
     * flag, the flag goes to the serving branch and the expiry is sent again. A retry does the same and finds the flag
     * moved, so nothing is sent twice that matters (both calls set absolute values).
     */
    retireBackup: activity(
      z.object({
        projectId: neonId,
        branchId: neonId,
        servingBranchId: neonId,
        retentionMs: z.number().int().positive().nullable(),
      }),
      async ({ projectId, branchId, servingBranchId, retentionMs }, call): Promise<RetireBackupResult> => {
        let refusal: NeonBadRequestError | null = null;
        if (retentionMs !== null) {
          try {
            return { ...(await expire(projectId, branchId, retentionMs, call)), movedDefault: false };
          } catch (err) {
            if (err instanceof NeonNotFoundError) return { expiresAt: null, movedDefault: false, operationIds: [] };
            if (!(err instanceof NeonBadRequestError)) throw err;
            refusal = err;
          }
        }
        const backup = await neon.getBranch(projectId, branchId, call).catch(nullOn404);
        if (!backup) return { expiresAt: null, movedDefault: false, operationIds: [] };
        if (!backup.default) {
          if (refusal) throw refusal; // refused for another reason (children, say): the caller keeps it
          return { expiresAt: null, movedDefault: false, operationIds: [] };
        }
        const moved = await neon.setDefaultBranch(projectId, servingBranchId, call);
        const movedOps = operationIds(moved.operations);
        if (retentionMs === null) return { expiresAt: null, movedDefault: true, operationIds: movedOps };
        const expired = await expire(projectId, branchId, retentionMs, call);
        return { ...expired, movedDefault: true, operationIds: [...movedOps, ...expired.operationIds] };
      },
    ),
  }) satisfies Partial<NeonActivities>;
}
