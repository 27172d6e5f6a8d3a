/**
 * Whether a promotion fits the plan's limits before it changes anything: manual snapshot slots (the candidate and the
 * rollback point; the fork point already holds one) and root branches (every snapshot restore makes one). What does
 * not fit is refused in one line naming the limit; what the run may free to fit is listed for the plan to delete.
 */
import type { IsoTimestamp, ResolveEnvironmentResult, SnapshotInfo } from '../../activities/contract';
import type { PromoteOptions } from '../contract/inputs';
import { isOwned } from '../contract/names';

/** A promotion takes two snapshots: the rollback point and the candidate; by migrations, only the anchor. */
export const slotsNeeded = (options: PromoteOptions): number => (options.strategy === 'migrations' ? 1 : 2);

/**
 * Root branches a promotion makes at most, its automatic rollback included. By snapshot: the candidate and the fork
 * point's copy (for the count and the carry), and the rollback's restore, which the fork point's copy makes room for
 * (undo.ts deletes it first). By migrations: the anchor's restore onto prod and the anchor's copy beside it.
 */
export const ROOT_BRANCHES_NEEDED = 2;

export type Room = {
  /** Our snapshots to delete first, and why: past their retention, or the oldest rollback points rotated out. */
  deletions: { snapshot: SnapshotInfo; why: 'expired' | 'rotated' }[];
  /** One line naming the limit that does not fit, and its failure type, or null when the promotion fits. */
  refusal: { message: string; type: 'SnapshotQuota' | 'RootBranchLimit' } | null;
};

/**
 * Our snapshots whose retention was over when they were listed; Neon may not have deleted them yet. Judged by the
 * listing's own time, not workflow time: which snapshots are deleted must be the same on replay (see
 * ResolveEnvironmentResult.observedAt).
 */
function expiredOwn(snapshots: SnapshotInfo[], listedAt: IsoTimestamp): SnapshotInfo[] {
  const now = Date.parse(listedAt);
  return snapshots.filter(
    (snapshot) => isOwned(snapshot.name) && snapshot.expiresAt !== null && Date.parse(snapshot.expiresAt) <= now,
  );
}

/**
 * Rollback points a run may rotate out to make room, oldest first: every `np-rollback-*` but the newest (prod's way
 * back from the latest promotion, kept without expiry when that run's own rollback failed). The fork point and what a
 * run takes for itself are never among them, and no other run is under way: the plan runs in the project's turn.
 */
function rotatable(snapshots: SnapshotInfo[], expired: SnapshotInfo[]): SnapshotInfo[] {
  const points = snapshots
    .filter((snapshot) => snapshot.manual && isOwned(snapshot.name, 'rollback'))
    .sort((older, newer) => older.createdAt.localeCompare(newer.createdAt));
  return points.slice(0, -1).filter((snapshot) => !expired.includes(snapshot));
}

export function roomFor(options: PromoteOptions, env: ResolveEnvironmentResult): Room {
  const deletions: Room['deletions'] = [];
  const free = env.freeSnapshotSlots;
  const needed = slotsNeeded(options);
  if (free !== null && free < needed) {
    const expired = expiredOwn(env.snapshots, env.observedAt).filter((snapshot) => snapshot.manual);
    const rotated = rotatable(env.snapshots, expired);
    if (free + expired.length + rotated.length < needed) {
      const message =
        `a promotion needs ${needed} free snapshot slots; project ${options.projectId} has ${free} of ` +
        `${env.snapshotLimit} (the plan's limit of manual snapshots) and only ${expired.length + rotated.length} ` +
        `snapshot(s) of ours it may delete (expired ones and rollback points but the newest)`;
      return { deletions: [], refusal: { message, type: 'SnapshotQuota' } };
    }
    // Every expired one goes (they hold slots for nothing); rollback points only as many as the run still needs.
    deletions.push(...expired.map((snapshot) => ({ snapshot, why: 'expired' as const })));
    const short = needed - free - expired.length;
    deletions.push(...rotated.slice(0, Math.max(0, short)).map((snapshot) => ({ snapshot, why: 'rotated' as const })));
  }
  const limit = env.rootBranchLimit;
  const roots = env.branches.filter((branch) => branch.parentId === null);
  if (limit !== null && roots.length + ROOT_BRANCHES_NEEDED > limit) {
    const backups = roots
      .filter((branch) => isOwned(branch.name, 'old') || isOwned(branch.name, 'failed'))
      .map((branch) => branch.expiresAt)
      .filter((at): at is string => at !== null)
      .sort();
    const until = backups.length ? `; our backups hold ${backups.length}, the first until ${backups[0]}` : '';
    const message =
      `a promotion needs ${ROOT_BRANCHES_NEEDED} free root branches (what it restores, its automatic rollback ` +
      `included); project ${options.projectId} has ${roots.length} of ${limit} (the plan's limit of root branches)${until}`;
    return { deletions: [], refusal: { message, type: 'RootBranchLimit' } };
  }
  return { deletions, refusal: null };
}
