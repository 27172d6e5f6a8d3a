/**
 * Whether a setup, refresh or rollback fits the plan's per-project limits before it changes anything, as a promotion's
 * plan does (promote/room.ts): the manual snapshot slots it takes and the root branches its snapshot restore makes.
 * What does not fit is refused in one line naming the limit; these runs free nothing to make room (the fork point and
 * the rollback points are what a failed run and the next promotion fall back on).
 */
import type { ResolveEnvironmentResult } from '../../activities/contract';
import { refuse } from '../contract/failures';

/** What a run takes at its peak: manual snapshots it holds beside the project's, and root branches it makes. */
export type Needs = { snapshots: number; rootBranches: number };

/** Setup: the baseline snapshot (kept as the fork point) and dev, a restore of it. */
export const SETUP_NEEDS: Needs = { snapshots: 1, rootBranches: 1 };
/** Refresh: prod's snapshot beside the fork point it replaces once dev is restored from it, and the restored dev. */
export const REFRESH_NEEDS: Needs = { snapshots: 1, rootBranches: 1 };
/** Rollback: no snapshot; the restore of the one asked for onto prod. */
export const ROLLBACK_NEEDS: Needs = { snapshots: 0, rootBranches: 1 };

/** Throws the refusal when the run does not fit; limits the worker does not know (null) are not checked. */
export function requireRoom(
  what: 'a setup' | 'a refresh' | 'a rollback',
  needs: Needs,
  env: Pick<ResolveEnvironmentResult, 'freeSnapshotSlots' | 'snapshotLimit' | 'rootBranchLimit' | 'branches'>,
  projectId: string,
): void {
  const free = env.freeSnapshotSlots;
  if (free !== null && free < needs.snapshots)
    throw refuse(
      `${what} needs ${needs.snapshots} free snapshot slot(s); project ${projectId} has ${free} of ` +
        `${env.snapshotLimit} (the plan's limit of manual snapshots); free one (neon-promote snapshots list|delete, ` +
        `janitor) and run again`,
      'SnapshotQuota',
    );
  const limit = env.rootBranchLimit;
  const roots = env.branches.filter((branch) => branch.parentId === null).length;
  if (limit !== null && roots + needs.rootBranches > limit)
    throw refuse(
      `${what} needs ${needs.rootBranches} free root branch(es) for its snapshot restore; project ${projectId} has ` +
        `${roots} of ${limit} (the plan's limit of root branches); backups of ours free theirs when they expire ` +
        `(janitor)`,
      'RootBranchLimit',
    );
}
