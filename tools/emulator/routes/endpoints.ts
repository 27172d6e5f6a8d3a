import { z } from 'zod';
import { mutation, type Env, type MCtx } from '../env';
import { ApiError, parse, route, type Route } from '../http';
import { rfc3339 } from '../ids';
import type { OpSpec } from '../ops';
import { endpointView } from '../views';

const ComputeUnit = z.number().min(0.25).max(56);
/** The fields of EndpointUpdateRequest the emulator honours; the others are refused rather than silently ignored. */
const UpdateEndpoint = z.object({
  endpoint: z
    .object({
      branch_id: z.string().optional(),
      autoscaling_limit_min_cu: ComputeUnit.optional(),
      autoscaling_limit_max_cu: ComputeUnit.optional(),
      suspend_timeout_seconds: z.number().int().min(-1).max(604800).optional(),
    })
    .strict(),
});

/** GET, PATCH and DELETE of one compute endpoint. */
export function endpointRoutes(env: Env): Route[] {
  const { store } = env;
  const path = '/projects/{project_id}/endpoints/{endpoint_id}';
  return [
    route('GET', path, ({ params }) => {
      const p = store.project(params.project_id!);
      return { status: 200, body: { endpoint: endpointView(env.views, p, store.endpoint(p, params.endpoint_id!)) } };
    }),
    route('PATCH', path, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const e = store.endpoint(p, ctx.params.endpoint_id!);
      const r = parse(UpdateEndpoint, ctx.body).endpoint;
      const min = r.autoscaling_limit_min_cu ?? e.autoscaling_limit_min_cu;
      const max = r.autoscaling_limit_max_cu ?? e.autoscaling_limit_max_cu;
      if (min > max)
        throw new ApiError(400, 'BAD_REQUEST', 'autoscaling_limit_min_cu must not exceed autoscaling_limit_max_cu');
      const dest = r.branch_id && r.branch_id !== e.branch_id ? store.branch(p, r.branch_id) : undefined;
      if (
        dest &&
        e.type === 'read_write' &&
        p.endpoints.some((x) => x.branch_id === dest.id && x.type === 'read_write')
      )
        throw new ApiError(400, 'BAD_REQUEST', `branch ${dest.id} already has a read_write endpoint`);
      return mutation(env, ctx as MCtx, p, () => {
        Object.assign(e, {
          autoscaling_limit_min_cu: min,
          autoscaling_limit_max_cu: max,
          suspend_timeout_seconds: r.suspend_timeout_seconds ?? e.suspend_timeout_seconds,
          updated_at: rfc3339(),
        });
        const ops: OpSpec[] = [];
        if (dest) {
          // Moving a compute to another branch restarts it: its sessions are dropped, as a restore's are.
          e.branch_id = dest.id;
          e.current_state = 'init';
          env.proxy?.dropEndpoint(e.id);
          ops.push({ action: 'apply_config', branch_id: dest.id, endpoint_id: e.id });
        }
        return { status: 200, body: { endpoint: endpointView(env.views, p, e) }, ops };
      });
    }),
    route('DELETE', path, async (ctx) => {
      const p = store.project(ctx.params.project_id!);
      const e = p.endpoints.find((x) => x.id === ctx.params.endpoint_id);
      if (!e) return { status: 204 }; // the spec: "the endpoint doesn't exist or has already been deleted"
      return mutation(env, ctx as MCtx, p, () => {
        p.endpoints = p.endpoints.filter((x) => x.id !== e.id);
        env.proxy?.dropEndpoint(e.id);
        return {
          status: 200,
          body: { endpoint: endpointView(env.views, p, { ...e, current_state: 'idle', updated_at: rfc3339() }) },
          ops: [{ action: 'suspend_compute', branch_id: e.branch_id, endpoint_id: e.id }],
        };
      });
    }),
  ];
}
