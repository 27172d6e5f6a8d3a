import type { Env } from './env';
import { ApiError } from './http';
import { branchId, fakeLsn, physicalName, rfc3339 } from './ids';
import type { OpSpec } from './ops';
import type { BranchRec, DatabaseRec, DeletedBranchRec, ProjectRec, RoleRec } from './types';

type DbSource = { name: string; owner_name: string; physical: string };

/** Copies databases (a branch's or a snapshot's) into new physical databases; in memory mode only names them. */
export async function copyDatabases(env: Env, from: DbSource[], kind: 'b' | 's'): Promise<DbSource[]> {
  const out: DbSource[] = [];
  try {
    for (const d of from) {
      const physical = physicalName(kind);
      if (env.data) await env.data.copy(d.physical, physical, d.owner_name);
      out.push({ name: d.name, owner_name: d.owner_name, physical });
    }
  } catch (err) {
    await dropDatabases(env, undefined, out);
    throw err;
  }
  return out;
}

/** Drops databases now, unless the mutation is due to fail: its rollback needs them, and gc collects them later. */
export async function dropDatabases(env: Env, p: ProjectRec | undefined, dbs: { physical: string }[]): Promise<void> {
  if (p?.undo) return;
  if (env.data) for (const d of dbs) await env.data.drop(d.physical);
}

export function newBranch(
  env: Env,
  p: ProjectRec,
  fields: Partial<BranchRec> & { name: string },
  dbs: DbSource[],
  roles: RoleRec[],
): BranchRec {
  const now = rfc3339();
  const databases: DatabaseRec[] = dbs.map((d) => ({ ...d, id: env.store.nextDbId(), created_at: now }));
  return {
    id: branchId(),
    project_id: p.id,
    current_state: 'init',
    state_changed_at: now,
    created_at: now,
    updated_at: now,
    default: false,
    protected: false,
    init_source: 'parent-data',
    creation_source: 'console',
    ...fields,
    databases,
    roles: structuredClone(roles),
  };
}

export function roots(p: ProjectRec): number {
  return p.branches.filter((b) => !b.parent_id).length;
}

export function checkRootLimit(env: Env, p: ProjectRec): void {
  if (roots(p) >= env.limits.rootBranchLimit)
    throw new ApiError(
      422,
      'BRANCHES_LIMIT_EXCEEDED',
      `root branches limit exceeded: the project already has ${env.limits.rootBranchLimit}`,
    );
}

/**
 * Makes `restored` stand in for `target`: it takes the target's name, protected flag and compute endpoints (whose
 * client sessions are dropped, as a compute restart would), the `default` flag unless `env.defaultOnFinalize` is
 * 'stays', and the project's root unless `env.rootOnFinalize` is; the target is renamed, keeping its ID.
 */
export function finalizeRestore(
  env: Env,
  p: ProjectRec,
  restored: BranchRec,
  target: BranchRec,
  newName?: string,
): OpSpec[] {
  if (restored.restore_status !== 'restored')
    throw new ApiError(400, 'BAD_REQUEST', `branch ${restored.id} is not a restored branch awaiting finalization`);
  const now = rfc3339();
  const ops: OpSpec[] = [];
  for (const e of p.endpoints.filter((x) => x.branch_id === target.id)) {
    e.branch_id = restored.id;
    e.current_state = 'init';
    e.updated_at = now;
    env.proxy?.dropEndpoint(e.id);
    ops.push({ action: 'apply_config', branch_id: restored.id, endpoint_id: e.id });
  }
  const oldName = target.name;
  target.name = newName ?? `${oldName} (old)`;
  const moveDefault = env.defaultOnFinalize === 'moves';
  Object.assign(restored, {
    name: oldName,
    default: moveDefault && target.default,
    protected: target.protected,
    restore_status: 'finalized',
    updated_at: now,
  });
  detachFor(restored, env.detaching.afterFinalizeMs);
  Object.assign(target, { default: !moveDefault && target.default, protected: false, updated_at: now });
  if (env.rootOnFinalize === 'moves' && isProjectRoot(p, target)) p.root_branch_id = restored.id;
  if (ops.length === 0) ops.push({ action: 'apply_config', branch_id: restored.id });
  return ops;
}

/**
 * The project's root branch: the one it was created with, or the restore that replaced it where the root moves on
 * finalize (`env.rootOnFinalize`); a state from before this was recorded: its oldest root branch.
 */
export function isProjectRoot(p: ProjectRec, b: BranchRec): boolean {
  if (p.root_branch_id) return b.id === p.root_branch_id;
  const oldest = p.branches.filter((x) => !x.parent_id).sort((x, y) => x.created_at.localeCompare(y.created_at))[0];
  return oldest?.id === b.id;
}

/**
 * "You cannot delete a project's root or default branch, or a branch that has a child branch" (spec
 * deleteProjectBranch); protected branches neither ("Protected branches"). The root, children, the default and
 * protected branches cannot be deleted; all but the root cannot be given an expiry either.
 */
export function checkDeletable(p: ProjectRec, b: BranchRec, what: 'deleted' | 'given an expiration'): void {
  if (what === 'deleted' && isProjectRoot(p, b))
    throw new ApiError(422, 'BRANCH_IS_ROOT', `branch ${b.id} is the project's root branch and cannot be deleted`);
  if (b.default) throw new ApiError(422, 'BRANCH_IS_DEFAULT', `default branch ${b.id} cannot be ${what}`);
  if (b.protected) throw new ApiError(422, 'BRANCH_PROTECTED', `protected branch ${b.id} cannot be ${what}`);
  if (p.branches.some((x) => x.parent_id === b.id))
    throw new ApiError(422, 'BRANCH_HAS_CHILDREN', `branch ${b.id} has child branches and cannot be ${what}`);
}

/**
 * A restored or finalized branch "may begin `detaching` as a one-time performance optimisation, after which it will
 * continue in its original state" (spec BranchRestoreStatus): it reads `detaching` for `ms` from now.
 */
export function detachFor(b: BranchRec, ms: number): void {
  if (ms > 0) b.detaching_until = Date.now() + ms;
  else delete b.detaching_until;
}

const RECOVERY_MS = 7 * 86_400_000;

/**
 * Removes a branch and its endpoints (their sessions end). `hard`: its databases go now. Otherwise the branch is kept
 * for Neon's 7-day recovery window (spec deleteProjectBranch, recoverProjectBranch), out of every list but
 * `include_deleted`, and the sweeper drops it when the window closes.
 */
export async function removeBranch(
  env: Env,
  p: ProjectRec,
  b: BranchRec,
  how: { hard: boolean; method?: DeletedBranchRec['deletion_method'] } = { hard: true },
): Promise<OpSpec[]> {
  const ops: OpSpec[] = [];
  const endpoints = p.endpoints.filter((x) => x.branch_id === b.id);
  for (const e of endpoints) {
    env.proxy?.dropEndpoint(e.id);
    ops.push({ action: 'suspend_compute', branch_id: b.id, endpoint_id: e.id });
  }
  p.endpoints = p.endpoints.filter((x) => x.branch_id !== b.id);
  p.branches = p.branches.filter((x) => x.id !== b.id);
  if (how.hard) await dropDatabases(env, p, b.databases);
  else {
    const now = Date.now();
    (p.deleted ??= []).push({
      branch: b,
      endpoints: endpoints.map((e) => ({ ...e, current_state: 'idle' })),
      deleted_at: rfc3339(now),
      recoverable_until: rfc3339(now + RECOVERY_MS),
      deletion_method: how.method ?? 'user',
    });
  }
  ops.push({ action: 'delete_timeline', branch_id: b.id });
  return ops;
}

/** Drops the soft-deleted branches whose recovery window has closed; how many. */
export async function purgeDeleted(env: Env, p: ProjectRec, now: number): Promise<number> {
  const closed = (p.deleted ?? []).filter((d) => Date.parse(d.recoverable_until) <= now);
  if (!closed.length) return 0;
  p.deleted = p.deleted!.filter((d) => !closed.includes(d));
  await dropDatabases(
    env,
    p,
    closed.flatMap((d) => d.branch.databases),
  );
  return closed.length;
}

export const lsnNow = (): string => fakeLsn();
