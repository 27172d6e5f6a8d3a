import { z } from 'zod';
import { copyDatabases, dropDatabases, newBranch } from '../branching';
import { mutation, now as clockNow, type Env, type MCtx } from '../env';
import { ApiError, parse, route, type Route } from '../http';
import { rfc3339 } from '../ids';
import type { OpSpec } from '../ops';
import { keysetPage, limitParam } from '../paginate';
import { dumpSchema, unifiedDiff } from '../schema-diff';
import type { BranchRec } from '../types';
import { branchView, connectionUri, endpointView, operationView } from '../views';
import { endpointRoutes } from './endpoints';
import { newEndpoint } from './projects';

const CreateEndpoint = z.object({
  endpoint: z.object({ branch_id: z.string(), type: z.enum(['read_write', 'read_only']) }).passthrough(),
});
const RestoreBranch = z.object({
  source_branch_id: z.string(),
  source_lsn: z.string().optional(),
  source_timestamp: z.string().optional(),
  preserve_under_name: z.string().min(1).optional(),
});

const RESET_WINDOW_MS = 24 * 3_600_000;

/**
 * "Reset from parent is unavailable on child branches for up to 24 hours after restoring a parent from a snapshot"
 * ("Backup & restore", Limitations; "Reset from parent", Limitations). A reset from parent is a branch restore whose
 * source is the branch's parent, at its head. Neon says "up to": the emulator holds the whole 24 hours, the strictest
 * reading. The 409 and its wording are an assumption (Neon documents neither).
 */
function checkResetWindow(env: Env, b: BranchRec, parent: BranchRec): void {
  const restoredAt = parent.snapshot_restored_at;
  if (b.parent_id !== parent.id || restoredAt === undefined) return;
  const opensAt = restoredAt + RESET_WINDOW_MS;
  if (clockNow(env) < opensAt)
    throw new ApiError(
      409,
      'CONFLICT',
      `reset from parent is unavailable: parent branch ${parent.id} was restored from a snapshot at ` +
        `${rfc3339(restoredAt)}, less than 24 hours ago`,
    );
}

export function miscRoutes(env: Env): Route[] {
  const { store } = env;
  const schemaOf = async (b: BranchRec, dbName: string): Promise<string> => {
    const db = b.databases.find((d) => d.name === dbName);
    if (!db) throw new ApiError(404, 'NOT_FOUND', `database ${dbName} not found on branch ${b.id}`);
    return env.data ? env.data.withDatabase(db.physical, dumpSchema) : '';
  };
  return [
    route('GET', '/projects/{project_id}/operations/{operation_id}', ({ params }) => {
      const op = store.project(params.project_id!).operations.find((o) => o.id === params.operation_id);
      if (!op) throw new ApiError(404, 'NOT_FOUND', `operation ${params.operation_id} not found`);
      return { status: 200, body: { operation: operationView(op) } };
    }),
    // listProjectOperations: newest first, limit 1..1000, every operation without one (Neon's pagination guide), and a
    // cursor after every page that has operations, the last page included (the guide's examples).
    route('GET', '/projects/{project_id}/operations', ({ params, query }) => {
      const ops = store.project(params.project_id!).operations;
      const limit = limitParam(query, 1000, ops.length || 1);
      const position = new Map(ops.map((op, i) => [op, String(i).padStart(12, '0')]));
      const { page, last } = keysetPage(ops, (op) => [position.get(op)!, ''], {
        desc: true,
        limit,
        cursor: query.get('cursor'),
      });
      return {
        status: 200,
        body: { operations: page.map(operationView), ...(last ? { pagination: { cursor: last } } : {}) },
      };
    }),
    route('GET', '/projects/{project_id}/connection_uri', ({ params, query }) => {
      const p = store.project(params.project_id!);
      const b = store.branch(p, query.get('branch_id') ?? p.branches.find((x) => x.default)!.id);
      const epId = query.get('endpoint_id');
      const ep = epId
        ? store.endpoint(p, epId)
        : p.endpoints.find((e) => e.branch_id === b.id && e.type === 'read_write');
      if (!ep || ep.branch_id !== b.id) throw new ApiError(404, 'NOT_FOUND', `branch ${b.id} has no such endpoint`);
      const db = b.databases.find((d) => d.name === query.get('database_name'));
      const role = b.roles.find((r) => r.name === query.get('role_name'));
      if (!db) throw new ApiError(404, 'NOT_FOUND', `database ${query.get('database_name')} not found`);
      if (!role) throw new ApiError(404, 'NOT_FOUND', `role ${query.get('role_name')} not found`);
      return { status: 200, body: { uri: connectionUri(env.views, ep, role.name, role.password, db.name) } };
    }),
    route('GET', '/projects/{project_id}/endpoints', ({ params }) => {
      const p = store.project(params.project_id!);
      return { status: 200, body: { endpoints: p.endpoints.map((e) => endpointView(env.views, p, e)) } };
    }),
    ...endpointRoutes(env),
    route('POST', '/projects/{project_id}/endpoints', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const req = parse(CreateEndpoint, ctx.body).endpoint;
      const b = store.branch(p, req.branch_id);
      if (req.type === 'read_write' && p.endpoints.some((e) => e.branch_id === b.id && e.type === 'read_write'))
        throw new ApiError(400, 'BAD_REQUEST', `branch ${b.id} already has a read_write endpoint`);
      return mutation(env, ctx as MCtx, p, () => {
        const e = newEndpoint(p, b.id, req.type);
        return {
          status: 201,
          body: { endpoint: endpointView(env.views, p, e) },
          ops: [{ action: 'start_compute', branch_id: b.id, endpoint_id: e.id }],
        };
      });
    }),
    route('POST', '/projects/{project_id}/branches/{branch_id}/restore', async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const b = store.branch(p, ctx.params.branch_id!);
      const req = parse(RestoreBranch, ctx.body);
      const src = store.branch(p, req.source_branch_id);
      if (req.source_lsn || req.source_timestamp || src.id === b.id)
        throw new ApiError(
          400,
          'BAD_REQUEST',
          'the emulator restores from the head of another branch only (no LSN/timestamp)',
        );
      if (!req.preserve_under_name && p.branches.some((x) => x.parent_id === b.id))
        throw new ApiError(400, 'BAD_REQUEST', 'preserve_under_name is required when the branch has children');
      checkResetWindow(env, b, src);
      return mutation(env, ctx as MCtx, p, async () => {
        const dbs = await copyDatabases(env, src.databases, 'b');
        const old = b.databases;
        const now = rfc3339();
        b.databases = dbs.map((d, i) => ({ ...d, id: old[i]?.id ?? env.store.nextDbId(), created_at: now }));
        if (req.preserve_under_name) {
          const keep = newBranch(
            env,
            p,
            { name: req.preserve_under_name, parent_id: b.parent_id, current_state: 'ready' },
            [],
            b.roles,
          );
          keep.databases = old;
          p.branches.push(keep);
        } else await dropDatabases(env, p, old);
        Object.assign(b, { last_reset_at: now, updated_at: now });
        const ops: OpSpec[] = [{ action: 'create_timeline', branch_id: b.id }];
        for (const e of p.endpoints.filter((x) => x.branch_id === b.id)) {
          env.proxy?.dropEndpoint(e.id);
          ops.push({ action: 'apply_config', branch_id: b.id, endpoint_id: e.id });
        }
        return { status: 200, body: { branch: branchView(b) }, ops };
      });
    }),
    route('GET', '/projects/{project_id}/branches/{branch_id}/compare_schema', async ({ params, query }) => {
      const p = store.project(params.project_id!);
      const b = store.branch(p, params.branch_id!);
      const baseId = query.get('base_branch_id') ?? b.parent_id;
      if (!baseId) throw new ApiError(400, 'BAD_REQUEST', 'base_branch_id is required for a branch without a parent');
      if (query.get('lsn') || query.get('timestamp') || query.get('base_lsn') || query.get('base_timestamp'))
        throw new ApiError(400, 'BAD_REQUEST', 'the emulator compares branch heads only');
      const dbName = query.get('db_name');
      if (!dbName) throw new ApiError(400, 'BAD_REQUEST', 'db_name is required');
      const base = store.branch(p, baseId);
      const [a, t] = [await schemaOf(base, dbName), await schemaOf(b, dbName)];
      return { status: 200, body: { diff: unifiedDiff(a, t, `${base.id}/${dbName}`, `${b.id}/${dbName}`) } };
    }),
    route('GET', '/projects/{project_id}/branches/{branch_id}/schema', async ({ params, query }) => {
      const b = store.branch(store.project(params.project_id!), params.branch_id!);
      return { status: 200, body: { sql: await schemaOf(b, query.get('db_name') ?? '') } };
    }),
  ];
}
