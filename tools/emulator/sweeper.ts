import { dropDatabases, isProjectRoot, purgeDeleted, removeBranch } from './branching';
import type { Env } from './env';

/**
 * Deletes branches and snapshots whose `expires_at` has passed (an expired branch is soft-deleted, recoverable as
 * `deletion_method: ttl`; one that cannot be deleted, such as the project's root, stays), and drops soft-deleted branches whose recovery window closed. Like Neon's background job it
 * runs on its own schedule, not exactly at the instant, and leaves a project alone while it has running operations.
 */
export async function sweep(env: Env, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const p of env.store.projects()) {
    if (env.ops.locked(p)) continue;
    const expired = (x: { expires_at?: string }): boolean => !!x.expires_at && Date.parse(x.expires_at) <= now;
    const branches = p.branches.filter(
      (b) =>
        expired(b) &&
        !b.default &&
        !b.protected &&
        !isProjectRoot(p, b) &&
        !p.branches.some((c) => c.parent_id === b.id),
    );
    const snapshots = p.snapshots.filter(expired);
    const closed = (p.deleted ?? []).filter((d) => Date.parse(d.recoverable_until) <= now);
    if (!branches.length && !snapshots.length && !closed.length) continue;
    await env.ops.exclusive(p, async () => {
      for (const b of branches) await removeBranch(env, p, b, { hard: false, method: 'ttl' });
      await purgeDeleted(env, p, now);
      p.snapshots = p.snapshots.filter((s) => !snapshots.includes(s));
      await dropDatabases(
        env,
        p,
        snapshots.flatMap((s) => s.databases),
      );
      env.store.save();
    });
    removed += branches.length + snapshots.length;
    env.log(`sweeper: project ${p.id}: removed ${branches.length} branch(es), ${snapshots.length} snapshot(s)`);
  }
  return removed;
}

export function startSweeper(env: Env, intervalMs: number): () => void {
  let running = false;
  const t = setInterval(() => {
    if (running) return;
    running = true;
    sweep(env)
      .catch((e: Error) => env.log(`sweeper: ${e.message}`))
      .finally(() => (running = false));
  }, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
