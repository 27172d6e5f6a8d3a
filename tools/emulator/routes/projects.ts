import { z } from 'zod';
import { newBranch } from '../branching';
import { mutation, type Env, type MCtx } from '../env';
import { ApiError, parse, route, type Route } from '../http';
import { keysetPage, limitParam } from '../paginate';
import { endpointId, password, physicalName, projectId, rfc3339 } from '../ids';
import type { EndpointRec, ProjectRec } from '../types';
import { branchView, connectionUri, databasesView, endpointView, projectView, rolesView } from '../views';

const CreateProject = z.object({
  project: z
    .object({
      name: z.string().min(1).max(256).optional(),
      region_id: z.string().optional(),
      pg_version: z.number().int().min(14).max(18).optional(),
      history_retention_seconds: z.number().int().min(0).max(2592000).optional(),
      branch: z
        .object({
          name: z.string().min(1).max(256).optional(),
          role_name: z.string().min(1).optional(),
          database_name: z.string().min(1).optional(),
        })
        .optional(),
    })
    .passthrough(),
});

export function newEndpoint(
  p: ProjectRec,
  branch: string,
  type: 'read_write' | 'read_only' = 'read_write',
): EndpointRec {
  const now = rfc3339();
  const e: EndpointRec = {
    id: endpointId(),
    project_id: p.id,
    branch_id: branch,
    type,
    current_state: 'init',
    created_at: now,
    updated_at: now,
    autoscaling_limit_min_cu: 0.25,
    autoscaling_limit_max_cu: 2,
    suspend_timeout_seconds: 0,
  };
  p.endpoints.push(e);
  return e;
}

export function projectRoutes(env: Env): Route[] {
  // Projects share their owner role (one per name per emulator). Two projects created at once would both ALTER ROLE
  // the same catalog row, and Postgres fails the second with "tuple concurrently updated" (XX000): one at a time.
  let roles: Promise<unknown> = Promise.resolve();
  const ensureRole = (data: NonNullable<Env['data']>, name: string): Promise<void> => {
    const mine = roles.then(() => data.ensureRole(name));
    roles = mine.catch(() => undefined);
    return mine;
  };
  return [
    // listProjects: limit 1..400, 10 by default (spec), newest first, a cursor after every page that has projects.
    route('GET', '/projects', ({ query }) => {
      const search = query.get('search');
      const { page, last } = keysetPage(
        env.store.projects().filter((p) => !search || p.name.includes(search) || p.id.includes(search)),
        (p) => [p.created_at, p.id],
        { desc: true, limit: limitParam(query, 400, 10), cursor: query.get('cursor') },
      );
      const projects = page.map((p) => projectView(env.views, p, true));
      const pagination = last ? { pagination: { cursor: last } } : {};
      return { status: 200, body: { projects, applications: {}, integrations: {}, ...pagination } };
    }),
    route('POST', '/projects', async (ctx) => {
      const req = parse(CreateProject, ctx.body).project;
      const now = rfc3339();
      const id = projectId();
      const p: ProjectRec = {
        id,
        name: req.name ?? id,
        region_id: req.region_id ?? 'aws-us-east-2',
        pg_version: req.pg_version ?? 17,
        created_at: now,
        updated_at: now,
        history_retention_seconds: req.history_retention_seconds ?? 86400,
        branches: [],
        endpoints: [],
        snapshots: [],
        operations: [],
      };
      const roleName = req.branch?.role_name ?? 'neondb_owner';
      const dbName = req.branch?.database_name ?? 'neondb';
      const physical = physicalName('b');
      if (env.data) {
        await ensureRole(env.data, roleName);
        await env.data.createEmpty(physical, roleName);
      }
      const role = { name: roleName, password: password(), created_at: now };
      const branch = newBranch(
        env,
        p,
        { name: req.branch?.name ?? 'main', default: true, init_source: 'parent-data' },
        [{ name: dbName, owner_name: roleName, physical }],
        [role],
      );
      p.branches.push(branch);
      p.root_branch_id = branch.id;
      env.store.state.projects[id] = p;
      const ep = newEndpoint(p, branch.id);
      return mutation(env, ctx as MCtx, p, () => ({
        status: 201,
        body: {
          project: projectView(env.views, p),
          connection_uris: [
            {
              connection_uri: connectionUri(env.views, ep, roleName, role.password, dbName),
              connection_parameters: {
                database: dbName,
                password: role.password,
                role: roleName,
                host: env.views.proxyHost,
                pooler_host: env.views.proxyHost,
              },
            },
          ],
          roles: rolesView(branch, true),
          databases: databasesView(branch),
          branch: branchView(branch),
          endpoints: [endpointView(env.views, p, ep)],
        },
        ops: [
          { action: 'create_timeline', branch_id: branch.id },
          { action: 'start_compute', branch_id: branch.id, endpoint_id: ep.id },
        ],
      }));
    }),
    route('GET', '/projects/{project_id}', ({ params }) => ({
      status: 200,
      body: { project: projectView(env.views, env.store.project(params.project_id!)) },
    })),
    route('DELETE', '/projects/{project_id}', async (ctx) => {
      const p = env.store.project(ctx.params.project_id!);
      return env.ops.exclusive(p, async () => {
        for (const e of p.endpoints) env.proxy?.dropEndpoint(e.id);
        const dbs = [
          ...[...p.branches, ...(p.deleted ?? []).map((d) => d.branch)].flatMap((b) => b.databases),
          ...p.snapshots.flatMap((s) => s.databases),
        ];
        delete env.store.state.projects[p.id];
        env.store.save();
        if (env.data) for (const d of dbs) await env.data.drop(d.physical);
        return { status: 200, body: { project: projectView(env.views, p) } };
      });
    }),
  ];
}

export function projectOr404(env: Env, id: string | undefined): ProjectRec {
  if (!id) throw new ApiError(404, 'NOT_FOUND', 'project not found');
  return env.store.project(id);
}
