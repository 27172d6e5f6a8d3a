/**
 * Deletes what this product made and no longer needs: its expired snapshots, its backup branches past their expiry
 * (or without one, once older than a day), previews past their expiry, and its oldest rollback snapshots when the
 * project would otherwise lack room for the next promotion. Only `np-` and `preview-` names are ever touched.
 */
import type { BranchInfo, SnapshotInfo } from '../../activities/contract';
import { janitorInput, type JanitorInput } from '../contract/inputs';
import { isOwned, PREVIEW_PREFIX } from '../contract/names';
import { Run } from '../runtime/run';
import { deleteBranch, deleteSnapshot, resolveEnvironment } from '../steps/neon';
import { parseInput } from '../contract/validate';

export type JanitorResult = {
  outcome: 'cleaned' | 'noop';
  projectId: string;
  deletedSnapshots: { id: string; name: string; why: string }[];
  deletedBranches: { id: string; name: string; why: string }[];
  /** What could not be deleted (e.g. a backup that still has preview children) and why. */
  skipped: { id: string; name: string; why: string }[];
};

const DAY = 86_400_000;
const past = (at: string | null, now: number): boolean => at !== null && Date.parse(at) <= now;

export async function janitor(raw: JanitorInput): Promise<JanitorResult> {
  const run = new Run('janitor');
  const o = parseInput(janitorInput(), raw);
  run.begin(o.projectId);
  await run.waitForTurn(raw);
  const { projectId } = o;
  const result: JanitorResult = { outcome: 'noop', projectId, deletedSnapshots: [], deletedBranches: [], skipped: [] };
  const env = await run.step('survey', () => resolveEnvironment(o));
  const now = Date.now();

  const snapshots: { s: SnapshotInfo; why: string }[] = env.snapshots
    .filter((s) => isOwned(s.name) && past(s.expiresAt, now))
    .map((s) => ({ s, why: 'expired' }));
  if (env.snapshotLimit !== null) {
    // Room for the next promotion, taken from the oldest rollback points beyond the ones always kept.
    const over = env.snapshots.length - snapshots.length - (env.snapshotLimit - o.reserveSnapshotSlots);
    const rollbacks = env.snapshots
      .filter((s) => isOwned(s.name, 'rollback') && !snapshots.some((x) => x.s.id === s.id))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const spare = rollbacks.slice(0, Math.max(0, rollbacks.length - o.keepRollbackSnapshots));
    for (const s of spare.slice(0, Math.max(0, over))) snapshots.push({ s, why: 'over quota (oldest rollback point)' });
  }
  const hasChildren = (b: BranchInfo) => env.branches.some((x) => x.parentId === b.id);
  const protectedIds = new Set([env.prod?.id, env.dev?.id]);
  const branches = env.branches
    .filter((b) => !protectedIds.has(b.id) && !b.protected && !b.default)
    .flatMap((b): { b: BranchInfo; why: string }[] => {
      const backup = isOwned(b.name, 'old') || isOwned(b.name, 'failed');
      if (backup && (past(b.expiresAt, now) || (b.expiresAt === null && Date.parse(b.createdAt) + DAY <= now)))
        return [{ b, why: 'backup past its retention' }];
      const preview = b.name.startsWith(PREVIEW_PREFIX) && b.parentId === env.dev?.id;
      if (preview && past(b.expiresAt, now)) return [{ b, why: 'preview past its expiry' }];
      return [];
    });

  await run.step('delete', async () => {
    for (const { s, why } of snapshots) {
      await deleteSnapshot(projectId, s.id);
      result.deletedSnapshots.push({ id: s.id, name: s.name, why });
    }
    for (const { b, why } of branches) {
      if (hasChildren(b)) {
        result.skipped.push({ id: b.id, name: b.name, why: `${why}, but it has child branches` });
        continue;
      }
      await deleteBranch(projectId, b.id);
      result.deletedBranches.push({ id: b.id, name: b.name, why });
    }
  });
  result.outcome = result.deletedSnapshots.length + result.deletedBranches.length > 0 ? 'cleaned' : 'noop';
  run.finish(result.outcome);
  return result;
}
