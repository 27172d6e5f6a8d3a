import { z } from 'zod';
import {
  checkRootLimit,
  copyDatabases,
  detachFor,
  dropDatabases,
  finalizeRestore,
  lsnNow,
  newBranch,
} from '../branching';
import { checkSnapshotExpiry, mutation, now as clockNow, type Env, type MCtx } from '../env';
import { ApiError, parse, route, type Reply, type Route } from '../http';
import { rfc3339, snapshotId } from '../ids';
import type { OpSpec } from '../ops';
import type { ProjectRec, SnapshotRec } from '../types';
import { branchView, endpointView, snapshotView } from '../views';

export const SnapshotParams = z
  .object({
    name: z.string().min(1).optional(),
    expires_at: z.string().optional(),
    lsn: z.string().optional(),
    timestamp: z.string().optional(),
  })
  .passthrough();
const UpdateSnapshot = z.object({ snapshot: z.object({ name: z.string().min(1).optional() }).passthrough() });
const Restore = z
  .object({
    name: z.string().min(1).optional(),
    target_branch_id: z.string().optional(),
    finalize_restore: z.boolean().optional(),
  })
  .passthrough();

/** "Snapshot names must be unique within a project" (Neon CLI reference, `neon snapshots create`). */
function checkNameFree(p: ProjectRec, name: string, except?: SnapshotRec): void {
  const taken = p.snapshots.find((s) => s.name === name && s !== except);
  if (taken)
    throw new ApiError(409, 'CONFLICT', `a snapshot named "${name}" already exists in this project (${taken.id})`);
}

/** The default name, made unique as names must be. */
function defaultName(p: ProjectRec, base: string): string {
  let name = base;
  for (let n = 2; p.snapshots.some((s) => s.name === name); n++) name = `${base} (${n})`;
  return name;
}

/**
 * Takes a snapshot of a root branch's head. Only manual snapshots count toward the plan's limit: "the per-plan snapshot
 * limit applies to manual snapshots only" ("Neon plans", Snapshots; "Backup & restore"); a backup schedule's are not
 * manual (spec Snapshot `manual`).
 */
export async function takeSnapshot(
  env: Env,
  ctx: MCtx,
  req: z.infer<typeof SnapshotParams> & { manual: boolean },
): Promise<Reply> {
  const p = env.store.project(ctx.params.project_id!);
  const b = env.store.branch(p, ctx.params.branch_id!);
  if (req.lsn || req.timestamp)
    throw new ApiError(400, 'BAD_REQUEST', 'the emulator snapshots the branch head only (lsn/timestamp unsupported)');
  checkSnapshotExpiry(req.expires_at);
  // "Manual snapshots can only be created from root branches" (API reference, Snapshots; "Backup & restore"), and
  // backup schedules "only apply to root branches" ("Backup & restore").
  if (b.parent_id)
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `branch ${b.id} is not a root branch: manual snapshots can only be created from root branches`,
    );
  if (req.name) checkNameFree(p, req.name);
  const manual = p.snapshots.filter((s) => s.manual).length;
  if (req.manual && manual >= env.limits.snapshotQuota)
    throw new ApiError(
      422,
      'SNAPSHOTS_LIMIT_EXCEEDED',
      `snapshot limit reached: the project already has ${manual} manual snapshot(s), the most its plan allows`,
    );
  return mutation(env, ctx, p, async () => {
    const dbs = await copyDatabases(env, b.databases, 's');
    const now = rfc3339();
    const s: SnapshotRec = {
      id: snapshotId(),
      name: req.name ?? defaultName(p, `${b.name} ${now}`),
      source_branch_id: b.id,
      created_at: now,
      timestamp: now,
      lsn: lsnNow(),
      manual: req.manual,
      full_size: 0,
      ...(req.expires_at ? { expires_at: req.expires_at } : {}),
      databases: dbs,
      roles: structuredClone(b.roles),
    };
    p.snapshots.push(s);
    return {
      status: 200,
      body: { snapshot: snapshotView(s) },
      ops: [{ action: 'create_timeline', branch_id: b.id }],
    };
  });
}

export function snapshotRoutes(env: Env): Route[] {
  const { store } = env;
  return [
    route('POST', '/projects/{project_id}/branches/{branch_id}/snapshot', async (ctx) => {
      store.branch(store.project(ctx.params.project_id!), ctx.params.branch_id!);
      // createSnapshot takes its parameters in the query only; Neon ignores a JSON body (its guide's curl sends one,
      // and the snapshot then gets the default name and no expiry), so the body is not read here either.
      const req = parse(SnapshotParams, Object.fromEntries(ctx.query.entries()));
      return takeSnapshot(env, ctx as MCtx, { ...req, manual: true });
    }),
    route('GET', '/projects/{project_id}/snapshots', ({ params }) => ({
      status: 200,
      body: { snapshots: store.project(params.project_id!).snapshots.map(snapshotView) },
    })),
    route('PATCH', '/projects/{project_id}/snapshots/{snapshot_id}', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const s = store.snapshot(p, ctx.params.snapshot_id!);
      const req = parse(UpdateSnapshot, ctx.body).snapshot;
      if (req.name) checkNameFree(p, req.name, s);
      return mutation(env, ctx as MCtx, p, () => {
        if (req.name) s.name = req.name;
        return { status: 200, body: { snapshot: snapshotView(s) }, ops: [] };
      });
    }),
    route('DELETE', '/projects/{project_id}/snapshots/{snapshot_id}', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const s = store.snapshot(p, ctx.params.snapshot_id!);
      return mutation(env, ctx as MCtx, p, async () => {
        p.snapshots = p.snapshots.filter((x) => x.id !== s.id);
        await dropDatabases(env, p, s.databases);
        return { status: 202, body: {}, ops: [{ action: 'delete_timeline', branch_id: s.source_branch_id }] };
      });
    }),
    route('POST', '/projects/{project_id}/snapshots/{snapshot_id}/restore', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const s = store.snapshot(p, ctx.params.snapshot_id!);
      const req = parse(Restore, ctx.body);
      const name = req.name ?? ctx.query.get('name') ?? undefined;
      const targetId = req.target_branch_id ?? s.source_branch_id;
      const target = p.branches.find((b) => b.id === targetId);
      if (!target) throw new ApiError(404, 'NOT_FOUND', `target branch ${targetId} not found`);
      checkRootLimit(env, p);
      return mutation(env, ctx as MCtx, p, async () => {
        const dbs = await copyDatabases(env, s.databases, 'b');
        const now = rfc3339();
        const nb = newBranch(
          env,
          p,
          {
            name: name ?? `${target.name} (restored ${now})`,
            restore_status: 'restored',
            restored_from: s.id,
            restored_as: target.id,
            snapshot_restored_at: clockNow(env),
            init_source: 'parent-data',
          },
          dbs,
          s.roles,
        );
        p.branches.push(nb);
        const ops: OpSpec[] = [{ action: 'create_timeline', branch_id: nb.id }];
        if (req.finalize_restore) ops.push(...finalizeRestore(env, p, nb, target));
        else detachFor(nb, env.detaching.afterRestoreMs);
        const endpoints = p.endpoints.filter((e) => e.branch_id === nb.id).map((e) => endpointView(env.views, p, e));
        return { status: 200, body: { branch: branchView(nb), endpoints }, ops };
      });
    }),
    route('POST', '/projects/{project_id}/branches/{branch_id}/finalize_restore', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const nb = store.branch(p, ctx.params.branch_id!);
      const req = parse(z.object({ name: z.string().min(1).optional() }).passthrough(), ctx.body);
      const target = nb.restored_as ? p.branches.find((b) => b.id === nb.restored_as) : undefined;
      if (!target || nb.restore_status !== 'restored')
        throw new ApiError(400, 'BAD_REQUEST', `branch ${nb.id} has no restore awaiting finalization`);
      return mutation(env, ctx as MCtx, p, () => ({
        status: 200,
        body: {},
        ops: finalizeRestore(env, p, nb, target, req.name),
      }));
    }),
  ];
}
