/**
 * The fork point: the state of prod that dev was last forked from, kept at Neon as a snapshot named `np-fork-...`.
 * Setup and refresh fork dev from a snapshot of prod, and a promotion makes prod out of a snapshot of dev: in each case
 * that snapshot is what prod and dev share, so the run that forked adopts it (renames it) once its fork has happened,
 * and deletes the fork points before it. A promotion compares prod with it to tell prod's own writes from dev's edits.
 * The snapshot itself is the record, not a run's result: Temporal forgets closed runs after its retention period,
 * while a fork point must last as long as dev and prod stay apart.
 */
import type { SnapshotInfo } from '../../activities/contract';
import type { ForkPoint } from '../contract/definitions';
import { isOwned, resourceName } from '../contract/names';
import { neonMutations } from '../runtime/activity-options';
import { deleteSnapshot } from './cleanup';

/** The newest fork point among a project's snapshots, or null when none is kept (e.g. dev forked before they were). */
export function currentForkPoint(snapshots: SnapshotInfo[]): ForkPoint | null {
  const forks = snapshots
    .filter((snapshot) => isOwned(snapshot.name, 'fork'))
    .sort((older, newer) => older.createdAt.localeCompare(newer.createdAt));
  const newest = forks.at(-1);
  return newest ? { snapshotId: newest.id, name: newest.name, createdAt: newest.createdAt } : null;
}

/**
 * Makes `snapshotId` the project's fork point (renamed for `workflowId`) and deletes the one before it (the janitor
 * deletes any other that a terminated run left). Idempotent: a retry finds the snapshot renamed and the old one gone.
 */
export async function adoptForkPoint(
  projectId: string,
  snapshotId: string,
  workflowId: string,
  previous: ForkPoint | null,
): Promise<ForkPoint> {
  const { snapshot } = await neonMutations.updateSnapshot({
    projectId,
    snapshotId,
    name: resourceName('fork', workflowId),
  });
  if (previous && previous.snapshotId !== snapshotId) await deleteSnapshot(projectId, previous.snapshotId);
  return { snapshotId: snapshot.id, name: snapshot.name, createdAt: snapshot.createdAt };
}

/**
 * Forgets the fork point (a rollback put prod back to a state dev was not forked from): the next promotion finds none
 * and stops unless told to discard what it cannot measure.
 */
export async function forgetForkPoint(projectId: string, snapshots: SnapshotInfo[]): Promise<string[]> {
  const forks = snapshots.filter((snapshot) => isOwned(snapshot.name, 'fork'));
  for (const fork of forks) await deleteSnapshot(projectId, fork.id);
  return forks.map((fork) => fork.id);
}
