import { z } from 'zod';
import { checkDeletable, copyDatabases, lsnNow, newBranch, removeBranch } from '../branching';
import { checkBranchExpiry, mutation, type Env, type MCtx } from '../env';
import { ApiError, boolParam, enumParam, parse, route, type Route } from '../http';
import { rfc3339 } from '../ids';
import type { OpSpec } from '../ops';
import { keysetPage, limitParam } from '../paginate';
import type { BranchRec } from '../types';
import { branchView, connectionUri, databasesView, endpointView, rolesView } from '../views';
import { newEndpoint } from './projects';

const EndpointOpt = z.object({ type: z.enum(['read_write', 'read_only']) }).passthrough();
const CreateBranch = z
  .object({
    branch: z
      .object({
        parent_id: z.string().optional(),
        name: z.string().min(1).max(256).optional(),
        parent_lsn: z.string().optional(),
        parent_timestamp: z.string().optional(),
        protected: z.boolean().optional(),
        expires_at: z.string().optional(),
      })
      .passthrough()
      .optional(),
    endpoints: z.array(EndpointOpt).optional(),
  })
  .passthrough();
const SORT_FIELDS = ['name', 'created_at', 'updated_at'] as const;

const UpdateBranch = z.object({
  branch: z
    .object({
      name: z.string().min(1).max(256).optional(),
      protected: z.boolean().optional(),
      expires_at: z.string().nullable().optional(),
    })
    .passthrough(),
});

export function branchRoutes(env: Env): Route[] {
  const { store } = env;
  const base = '/projects/{project_id}/branches';
  return [
    // listProjectBranches: limit 1..10000 (LimitParam), sort_by and sort_order with their defaults, the cursor from
    // pagination.next; include_deleted adds the soft-deleted branches with their `recovery`.
    route('GET', base, ({ params, query }) => {
      const p = store.project(params.project_id!);
      const search = query.get('search');
      const sortBy = enumParam(query, 'sort_by', SORT_FIELDS, 'updated_at');
      const sortOrder = enumParam(query, 'sort_order', ['asc', 'desc'], 'desc');
      const limit = Math.min(limitParam(query, 10_000, env.branchPageSize), env.branchPageSize);
      const now = Date.now();
      const listed: { b: BranchRec; view: Record<string, unknown> }[] = [
        ...p.branches.map((b) => ({ b, view: branchView(b, now) })),
        ...(boolParam(query, 'include_deleted') ? (p.deleted ?? []) : []).map(
          ({ branch, endpoints: _e, ...recovery }) => ({
            b: branch,
            view: { ...branchView(branch, now), recovery },
          }),
        ),
      ];
      const { page, last, more } = keysetPage(
        listed.filter(({ b }) => !search || b.name.includes(search) || b.id.includes(search)),
        ({ b }) => [b[sortBy], b.id],
        { desc: sortOrder === 'desc', limit, cursor: query.get('cursor') },
      );
      const pagination = { sort_by: sortBy, sort_order: sortOrder, ...(more && last ? { next: last } : {}) };
      return { status: 200, body: { branches: page.map(({ view }) => view), annotations: {}, pagination } };
    }),
    route('POST', base, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const req = parse(CreateBranch, ctx.body);
      const b = req.branch ?? {};
      if (b.parent_lsn || b.parent_timestamp)
        throw new ApiError(
          400,
          'BAD_REQUEST',
          'the emulator branches from the parent head only (parent_lsn/parent_timestamp unsupported)',
        );
      checkBranchExpiry(b.expires_at);
      if (b.expires_at && b.protected)
        throw new ApiError(400, 'BAD_REQUEST', 'expires_at is not allowed on protected branches');
      const parent = b.parent_id ? store.branch(p, b.parent_id) : p.branches.find((x) => x.default)!;
      if ((req.endpoints ?? []).filter((e) => e.type === 'read_write').length > 1)
        throw new ApiError(400, 'BAD_REQUEST', 'a branch can have only one read_write endpoint');
      return mutation(env, ctx as MCtx, p, async () => {
        const dbs = await copyDatabases(env, parent.databases, 'b');
        const now = rfc3339();
        const branch = newBranch(
          env,
          p,
          {
            name: b.name ?? `br-${now.replace(/[^0-9]/g, '')}`,
            parent_id: parent.id,
            parent_lsn: lsnNow(),
            parent_timestamp: now,
            protected: b.protected ?? false,
            ...(b.expires_at ? { expires_at: b.expires_at } : {}),
          },
          dbs,
          parent.roles,
        );
        p.branches.push(branch);
        const eps = (req.endpoints ?? []).map((e) => newEndpoint(p, branch.id, e.type));
        const ops: OpSpec[] = [
          { action: 'create_timeline', branch_id: branch.id },
          ...eps.map((e) => ({ action: 'start_compute', branch_id: branch.id, endpoint_id: e.id })),
        ];
        const single = branch.databases.length === 1 && branch.roles.length === 1 && eps[0];
        const uris = single
          ? [
              {
                connection_uri: connectionUri(
                  env.views,
                  eps[0]!,
                  branch.roles[0]!.name,
                  branch.roles[0]!.password,
                  branch.databases[0]!.name,
                ),
                connection_parameters: {
                  database: branch.databases[0]!.name,
                  password: branch.roles[0]!.password,
                  role: branch.roles[0]!.name,
                  host: env.views.proxyHost,
                  pooler_host: env.views.proxyHost,
                },
              },
            ]
          : undefined;
        const body = {
          branch: branchView(branch),
          endpoints: eps.map((e) => endpointView(env.views, p, e)),
          roles: rolesView(branch, false),
          databases: databasesView(branch),
          ...(uris ? { connection_uris: uris } : {}),
        };
        return { status: 201, body, ops };
      });
    }),
    route('GET', `${base}/{branch_id}`, ({ params }) => {
      const b = store.branch(store.project(params.project_id!), params.branch_id!);
      return {
        status: 200,
        body: { branch: branchView(b), annotation: { object: { type: 'console/branch', id: b.id }, value: {} } },
      };
    }),
    route('PATCH', `${base}/{branch_id}`, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const b = store.branch(p, ctx.params.branch_id!);
      const req = parse(UpdateBranch, ctx.body).branch;
      return mutation(env, ctx as MCtx, p, () => {
        const protect = req.protected ?? b.protected;
        const expires = req.expires_at === undefined ? b.expires_at : req.expires_at;
        if (req.expires_at) {
          checkBranchExpiry(req.expires_at);
          checkDeletable(p, { ...b, protected: protect }, 'given an expiration');
        }
        if (protect && expires)
          throw new ApiError(422, 'BRANCH_PROTECTED', 'a branch with an expiration cannot be protected');
        if (req.name !== undefined) b.name = req.name;
        b.protected = protect;
        if (expires) b.expires_at = expires;
        else delete b.expires_at;
        b.updated_at = rfc3339();
        return { status: 200, body: { branch: branchView(b) }, ops: [] };
      });
    }),
    route('DELETE', `${base}/{branch_id}`, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const hard = boolParam(ctx.query, 'hard_delete');
      const b = p.branches.find((x) => x.id === ctx.params.branch_id);
      if (!b) return { status: 204 }; // the spec: "the branch doesn't exist or has already been deleted"
      checkDeletable(p, b, 'deleted');
      return mutation(env, ctx as MCtx, p, async () => ({
        status: 200,
        body: { branch: branchView(b) },
        ops: await removeBranch(env, p, b, { hard }),
      }));
    }),
    // recoverProjectBranch: the branch and its endpoints come back (idle), connection strings unchanged, no TTL.
    route('POST', `${base}/{branch_id}/recover`, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const gone = (p.deleted ?? []).find((d) => d.branch.id === ctx.params.branch_id);
      if (!gone) throw new ApiError(404, 'NOT_FOUND', `no recoverable deleted branch ${ctx.params.branch_id}`);
      return mutation(env, ctx as MCtx, p, () => {
        p.deleted = p.deleted!.filter((d) => d !== gone);
        const { branch, endpoints } = gone;
        delete branch.expires_at;
        branch.updated_at = rfc3339();
        p.branches.push(branch);
        p.endpoints.push(...endpoints);
        const body = { branch: branchView(branch), endpoints: endpoints.map((e) => endpointView(env.views, p, e)) };
        return { status: 200, body, ops: [] };
      });
    }),
    // setDefaultProjectBranch: "The default designation is automatically removed from the previous default branch".
    // A branch with an expiration is refused: "Branch expiration" allows none on a default branch (README, Limits).
    route('POST', `${base}/{branch_id}/set_as_default`, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const b = store.branch(p, ctx.params.branch_id!);
      return mutation(env, ctx as MCtx, p, () => {
        if (b.expires_at)
          throw new ApiError(
            422,
            'BRANCH_HAS_EXPIRATION',
            `branch ${b.id} has an expiration and cannot be the default`,
          );
        const now = rfc3339();
        for (const x of p.branches.filter((x) => x.default && x !== b))
          Object.assign(x, { default: false, updated_at: now });
        if (!b.default) Object.assign(b, { default: true, updated_at: now });
        return { status: 200, body: { branch: branchView(b) }, ops: [] };
      });
    }),
    route('GET', `${base}/{branch_id}/endpoints`, ({ params }) => {
      const p = store.project(params.project_id!);
      const b = store.branch(p, params.branch_id!);
      return {
        status: 200,
        body: { endpoints: p.endpoints.filter((e) => e.branch_id === b.id).map((e) => endpointView(env.views, p, e)) },
      };
    }),
    route('GET', `${base}/{branch_id}/databases`, ({ params }) => ({
      status: 200,
      body: { databases: databasesView(store.branch(store.project(params.project_id!), params.branch_id!)) },
    })),
    route('GET', `${base}/{branch_id}/roles`, ({ params }) => ({
      status: 200,
      body: { roles: rolesView(store.branch(store.project(params.project_id!), params.branch_id!), false) },
    })),
    route('GET', `${base}/{branch_id}/roles/{role_name}/reveal_password`, ({ params }) => {
      const b = store.branch(store.project(params.project_id!), params.branch_id!);
      const r = b.roles.find((x) => x.name === params.role_name);
      if (!r) throw new ApiError(404, 'NOT_FOUND', `role ${params.role_name} not found`);
      return { status: 200, body: { password: r.password } };
    }),
  ];
}
