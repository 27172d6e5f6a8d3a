/**
 * Deletes what this product made and no longer needs: its expired snapshots, fork points older than the current one,
 * snapshots a run takes without expiry that an ended run left behind (the janitor runs in its project's turn, so no run
 * is under way), its backup branches past their expiry, previews past their expiry, and its oldest rollback snapshots
 * when the project would otherwise lack room for the next promotion. Only `np-` and `preview-` names are ever touched,
 * unless the operator picks snapshots (`snapshotIds`): then exactly those go; the current fork point never does. A backup without an expiry is never deleted: a run that replaced a branch gives the
 * backup one unless it keeps it on purpose (a verification failed after the swap, and the backup is the way back) or
 * Neon refused it (the backup has children); it is listed as skipped, for an operator to delete once done with it.
 * A backup Neon will not delete (the project's root branch: the prod it was created with, once a swap replaced it; or
 * a default branch, where a finalize left that flag) is listed as skipped with Neon's reason, and the run goes on.
 * Nor is a rollback snapshot without expiry deleted for its age: a run keeps it so while it may roll prod back, and its
 * retention is a timer's to end (steps/retention.ts); only the quota rule above takes the oldest beyond those kept.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { BranchInfo, SnapshotInfo } from '../../activities/contract';
import {
  janitorInput,
  snapshotInventoryInput,
  type JanitorInput,
  type SnapshotInventoryInput,
} from '../contract/inputs';
import { isOwned, PREVIEW_PREFIX } from '../contract/names';
import { waitForTurn } from '../coordination/turn';
import { Run } from '../runtime/run';
import { deleteBranch, deleteSnapshot } from '../steps/cleanup';
import { resolveEnvironment } from '../steps/environment';
import { currentForkPoint } from '../steps/fork-point';
import { parseInput } from '../contract/validate';

export type JanitorResult = {
  outcome: 'cleaned' | 'noop';
  projectId: string;
  deletedSnapshots: { id: string; name: string; why: string }[];
  deletedBranches: { id: string; name: string; why: string }[];
  /** What could not be deleted (e.g. a backup that still has preview children) and why. */
  skipped: { id: string; name: string; why: string }[];
};

/** Snapshots a run takes without expiry and deletes (or adopts as the fork point) before it ends. */
const RUN_SNAPSHOTS = ['candidate', 'baseline', 'refresh'] as const;
const past = (at: string | null, now: number): boolean => at !== null && Date.parse(at) <= now;

export async function janitor(raw: JanitorInput): Promise<JanitorResult> {
  const run = new Run('janitor');
  const options = parseInput(janitorInput(), raw);
  run.begin(options.projectId);
  await waitForTurn(run, raw);
  const { projectId } = options;
  const result: JanitorResult = { outcome: 'noop', projectId, deletedSnapshots: [], deletedBranches: [], skipped: [] };
  const env = await run.step('survey', () => resolveEnvironment(options));
  // What is past its expiry is judged as of the survey, not by workflow time, so the same things are deleted on replay
  // (see ResolveEnvironmentResult.observedAt).
  const now = Date.parse(env.observedAt);

  const fork = currentForkPoint(env.snapshots);
  if (options.snapshotIds) return deletePicked(run, env.snapshots, options.snapshotIds, fork?.snapshotId, result);
  const leftBehind = (snapshot: SnapshotInfo) =>
    snapshot.expiresAt === null && RUN_SNAPSHOTS.some((kind) => isOwned(snapshot.name, kind));
  const snapshots: { snapshot: SnapshotInfo; why: string }[] = env.snapshots
    .filter((snapshot) => snapshot.id !== fork?.snapshotId)
    .flatMap((snapshot) => {
      if (isOwned(snapshot.name) && past(snapshot.expiresAt, now)) return [{ snapshot, why: 'expired' }];
      if (isOwned(snapshot.name, 'fork')) return [{ snapshot, why: 'superseded fork point' }];
      if (leftBehind(snapshot)) return [{ snapshot, why: 'left behind by a run that ended' }];
      return [];
    });
  if (env.snapshotLimit !== null) {
    // Room for the next promotion, taken from the oldest rollback points beyond the ones always kept. Only manual
    // snapshots count toward the plan's limit: a backup schedule's hold no slot.
    const manual = (listed: SnapshotInfo[]) => listed.filter((snapshot) => snapshot.manual).length;
    const over =
      manual(env.snapshots) -
      manual(snapshots.map(({ snapshot }) => snapshot)) -
      (env.snapshotLimit - options.reserveSnapshotSlots);
    const rollbacks = env.snapshots
      .filter(
        (snapshot) =>
          snapshot.manual &&
          isOwned(snapshot.name, 'rollback') &&
          !snapshots.some((listed) => listed.snapshot.id === snapshot.id),
      )
      .sort((older, newer) => older.createdAt.localeCompare(newer.createdAt));
    const spare = rollbacks.slice(0, Math.max(0, rollbacks.length - options.keepRollbackSnapshots));
    for (const snapshot of spare.slice(0, Math.max(0, over)))
      snapshots.push({ snapshot, why: 'over quota (oldest rollback point)' });
  }
  const hasChildren = (branch: BranchInfo) => env.branches.some((child) => child.parentId === branch.id);
  const isBackup = (branch: BranchInfo) => isOwned(branch.name, 'old') || isOwned(branch.name, 'failed');
  for (const branch of env.branches)
    if (isBackup(branch) && branch.default)
      // A finalize may leave the default flag on the branch it replaced (Neon does not say it moves).
      result.skipped.push({
        id: branch.id,
        name: branch.name,
        why: "the project's default branch, which Neon does not delete; make another branch the default to free it",
      });
    else if (isBackup(branch) && branch.expiresAt === null)
      result.skipped.push({
        id: branch.id,
        name: branch.name,
        why: 'backup without expiry: kept on purpose by its run (or Neon refused one); delete it when done with it',
      });
  const protectedIds = new Set([env.prod?.id, env.dev?.id]);
  const branches = env.branches
    .filter((branch) => !protectedIds.has(branch.id) && !branch.protected && !branch.default)
    .flatMap((branch): { branch: BranchInfo; why: string }[] => {
      const backup = isOwned(branch.name, 'old') || isOwned(branch.name, 'failed');
      if (backup && past(branch.expiresAt, now)) return [{ branch, why: 'backup past its retention' }];
      const preview = branch.name.startsWith(PREVIEW_PREFIX) && branch.parentId === env.dev?.id;
      if (preview && past(branch.expiresAt, now)) return [{ branch, why: 'preview past its expiry' }];
      return [];
    });

  await run.step('delete', async () => {
    for (const { snapshot, why } of snapshots) {
      await deleteSnapshot(projectId, snapshot.id);
      result.deletedSnapshots.push({ id: snapshot.id, name: snapshot.name, why });
    }
    for (const { branch, why } of branches) {
      if (hasChildren(branch)) {
        result.skipped.push({ id: branch.id, name: branch.name, why: `${why}, but it has child branches` });
        continue;
      }
      const refusal = await deleteBranch(projectId, branch.id).then(() => null, refusedDelete);
      if (refusal) {
        result.skipped.push({ id: branch.id, name: branch.name, why: `${why}, but Neon keeps it: ${refusal}` });
        continue;
      }
      result.deletedBranches.push({ id: branch.id, name: branch.name, why });
    }
  });
  result.outcome = result.deletedSnapshots.length + result.deletedBranches.length > 0 ? 'cleaned' : 'noop';
  run.finish(result.outcome);
  return result;
}

/**
 * Neon's refusal to delete a branch (a project's root branch, which a swap turns into a backup like any other prod, or
 * a default branch): its message, for the branch to be left and listed as skipped. Anything else is thrown.
 */
function refusedDelete(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && (cause.type === 'NeonBadRequest' || cause.type === 'NeonConflict'))
    return cause.message;
  throw err;
}

/**
 * The operator's pick (`neon-promote snapshots delete`): those snapshots and nothing else, in the project's turn so that
 * no run is using them. The current fork point is kept: the next promotion counts prod's writes from it.
 */
async function deletePicked(
  run: Run,
  snapshots: SnapshotInfo[],
  ids: string[],
  forkId: string | undefined,
  result: JanitorResult,
): Promise<JanitorResult> {
  await run.step('delete', async () => {
    for (const id of ids) {
      const snapshot = snapshots.find((listed) => listed.id === id);
      if (!snapshot) result.skipped.push({ id, name: '', why: 'no such snapshot in the project' });
      else if (id === forkId)
        result.skipped.push({
          id,
          name: snapshot.name,
          why: "the current fork point: the next promotion counts prod's writes since it",
        });
      else {
        await deleteSnapshot(result.projectId, id);
        result.deletedSnapshots.push({ id, name: snapshot.name, why: 'asked for by the operator' });
      }
    }
  });
  result.outcome = result.deletedSnapshots.length > 0 ? 'cleaned' : 'noop';
  run.finish(result.outcome);
  return result;
}

/** One snapshot of the project, and what it is to neon-promote. */
export type SnapshotListing = SnapshotInfo & {
  /** fork point (current or superseded), rollback point, a run's own, another's (not ours), or scheduled. */
  role: 'fork point' | 'superseded fork point' | 'rollback point' | 'run snapshot' | 'not ours' | 'scheduled';
};

export type SnapshotInventory = {
  projectId: string;
  snapshots: SnapshotListing[];
  /** The plan's limit of manual snapshots as the worker is configured (null: unknown) and the slots free of it. */
  snapshotLimit: number | null;
  freeSnapshotSlots: number | null;
};

/**
 * `neon-promote snapshots list`: the project's snapshots as Neon has them now, oldest first, each with its role. A
 * short read-only workflow on the worker (which holds the Neon key), not admitted through the project's coordinator.
 */
export async function snapshotInventory(raw: SnapshotInventoryInput): Promise<SnapshotInventory> {
  const options = parseInput(snapshotInventoryInput(), raw);
  const env = await resolveEnvironment(options);
  const fork = currentForkPoint(env.snapshots);
  const roleOf = (snapshot: SnapshotInfo): SnapshotListing['role'] => {
    if (!snapshot.manual) return 'scheduled';
    if (snapshot.id === fork?.snapshotId) return 'fork point';
    if (isOwned(snapshot.name, 'fork')) return 'superseded fork point';
    if (isOwned(snapshot.name, 'rollback')) return 'rollback point';
    return isOwned(snapshot.name) ? 'run snapshot' : 'not ours';
  };
  return {
    projectId: options.projectId,
    snapshots: [...env.snapshots]
      .sort((older, newer) => older.createdAt.localeCompare(newer.createdAt))
      .map((snapshot) => ({ ...snapshot, role: roleOf(snapshot) })),
    snapshotLimit: env.snapshotLimit,
    freeSnapshotSlots: env.freeSnapshotSlots,
  };
}
