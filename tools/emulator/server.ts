import http from 'node:http';
import { z } from 'zod';
import type { Env, MCtx } from './env';
import type { FaultEngine } from './faults';
import { changeLimits } from './plans';
import { takeSnapshot } from './routes/snapshots';
import { ApiError, match, parse, readBody, route, send, type Route } from './http';
import { requestId as newRequestId } from './ids';
import type { FaultConfig, RequestLogEntry } from './types';

const FaultRuleSchema = z.object({
  kind: z.enum([
    'error',
    'rate_limit',
    'locked',
    'latency',
    'fail_operation',
    'cancel_operation',
    'skip_operation',
    'operation_error',
    'response_lost',
  ]),
  route: z.string().optional(),
  rate: z.number().min(0).max(1).optional(),
  times: z.number().int().min(0).optional(),
  status: z.number().int().min(400).max(599).optional(),
  retryAfterSec: z.number().min(0).optional(),
  latencyMs: z.number().min(0).optional(),
});
const limit = z.number().int().min(0);
const RulesSchema = z.object({
  default_on_finalize: z.enum(['moves', 'stays']).optional(),
  root_on_finalize: z.enum(['moves', 'stays']).optional(),
});
const rulesOf = (env: Env) => ({ default_on_finalize: env.defaultOnFinalize, root_on_finalize: env.rootOnFinalize });
const LimitsChangeSchema = z
  .object({ plan: z.enum(['free', 'launch', 'scale']), snapshotQuota: limit, rootBranchLimit: limit })
  .partial()
  .strict();

export const FaultConfigSchema = z.object({ rules: z.array(FaultRuleSchema), seed: z.number().int().optional() });

const LOG_CAP = 100_000;

/** Request bookkeeping: the log (capped) and per-route counts (never capped, so benchmarks can count calls). */
export class RequestLog {
  entries: RequestLogEntry[] = [];
  counts: Record<string, number> = {};
  add(e: RequestLogEntry): void {
    if (this.entries.length >= LOG_CAP) this.entries.shift();
    this.entries.push(e);
    this.counts[e.route] = (this.counts[e.route] ?? 0) + 1;
  }
  reset(): void {
    this.entries = [];
    this.counts = {};
  }
}

export type ServerDeps = {
  env: Env;
  apiKey: string;
  faults: FaultEngine;
  requests: RequestLog;
  routes: Route[];
  sweep: () => Promise<void>;
};

function adminRoutes(d: ServerDeps): Route[] {
  return [
    route('GET', '/faults', () => ({ status: 200, body: d.faults.get() })),
    route(
      'PUT',
      '/faults',
      ({ body }) => (d.faults.set(parse<FaultConfig>(FaultConfigSchema, body)), { status: 200, body: d.faults.get() }),
    ),
    route('GET', '/requests', () => ({ status: 200, body: { requests: d.requests.entries } })),
    route('DELETE', '/requests', () => (d.requests.reset(), { status: 204 })),
    route('GET', '/request-counts', () => ({ status: 200, body: { counts: d.requests.counts } })),
    route('POST', '/reset', () => (d.requests.reset(), d.faults.set({ rules: [] }), { status: 204 })),
    route('POST', '/sweep', async () => (await d.sweep(), { status: 204 })),
    route('POST', '/clock', ({ body }) => {
      d.env.clock.offsetMs += parse(z.object({ advance_ms: z.number().int().nonnegative() }), body).advance_ms;
      return { status: 200, body: { offset_ms: d.env.clock.offsetMs } };
    }),
    route('GET', '/limits', () => ({ status: 200, body: d.env.limits })),
    route('PUT', '/limits', ({ body }) => {
      d.env.limits = changeLimits(d.env.limits, parse(LimitsChangeSchema, body));
      return { status: 200, body: d.env.limits };
    }),
    // Neon documents no answer to whether a finalize moves the default flag or the project's root: both, by setting.
    route('GET', '/rules', () => ({ status: 200, body: rulesOf(d.env) })),
    route('PUT', '/rules', ({ body }) => {
      const change = parse(RulesSchema, body);
      d.env.defaultOnFinalize = change.default_on_finalize ?? d.env.defaultOnFinalize;
      d.env.rootOnFinalize = change.root_on_finalize ?? d.env.rootOnFinalize;
      return { status: 200, body: rulesOf(d.env) };
    }),
    // What a backup schedule makes (Neon takes these on its own clock; tests take one when they need it).
    route('POST', '/projects/{project_id}/branches/{branch_id}/scheduled_snapshot', (ctx) => {
      const req = parse(z.object({ name: z.string().min(1).optional(), expires_at: z.string().optional() }), ctx.body);
      return takeSnapshot(d.env, ctx as MCtx, { ...req, manual: false });
    }),
  ];
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Neon uses a caller's X-Request-ID as the request's ID; the emulator takes any sane one and generates otherwise. */
function incomingRequestId(h: string | string[] | undefined): string | undefined {
  const v = (Array.isArray(h) ? h[0] : h)?.trim();
  return v && v.length <= 200 && /^[\x21-\x7e]+$/.test(v) ? v : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function createServer(d: ServerDeps): http.Server {
  const admin = adminRoutes(d);
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = incomingRequestId(req.headers['x-request-id']) ?? newRequestId();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const isApi = url.pathname.startsWith('/api/v2/');
    const isAdmin = url.pathname === '/admin' || url.pathname.startsWith('/admin/');
    const path = isApi ? url.pathname.slice('/api/v2'.length) : url.pathname.slice('/admin'.length);
    const table = isApi ? d.routes : isAdmin ? admin : [];
    const m = match(table, method, path);
    const templated = m ? `${method} ${m.route.template}` : 'UNMATCHED';
    const headers = { 'x-request-id': requestId };
    const fail = (
      status: number,
      code: string,
      message: string,
      extra: Record<string, string> = {},
    ): [number, unknown, Record<string, string>] => [
      status,
      { code, message, request_id: requestId },
      { ...headers, ...extra },
    ];
    let out: [number, unknown, Record<string, string>];
    let lost = false;
    if (req.headers.authorization !== `Bearer ${d.apiKey}`)
      out = fail(401, 'UNAUTHORIZED', 'authorization failed: missing or invalid API key');
    else if (!m) {
      // Never NOT_FOUND: a client must not take "the emulator lacks this route" for "the resource is gone".
      const allowed = METHODS.filter((x) => x !== method && match(table, x, path));
      out = allowed.length
        ? fail(
            405,
            'METHOD_NOT_ALLOWED',
            `route not found: ${method} ${url.pathname} (allowed: ${allowed.join(', ')})`,
            {
              allow: allowed.join(', '),
            },
          )
        : fail(404, 'ROUTE_NOT_FOUND', `route not found: ${method} ${url.pathname}`);
    } else {
      const mutating = isApi && method !== 'GET';
      const plan = isApi ? d.faults.plan(templated, mutating) : { latencyMs: 0, responseLost: false };
      if (plan.latencyMs) await sleep(plan.latencyMs);
      if (plan.reply) out = fail(plan.reply.status, plan.reply.code, plan.reply.message, plan.reply.headers);
      else {
        try {
          const body = await readBody(req);
          const ctx = {
            method,
            params: m.params,
            query: url.searchParams,
            body,
            requestId,
            operationFate: plan.operationFate,
          };
          const r = await m.route.handler(ctx);
          out = [r.status, r.body, headers];
          lost = plan.responseLost;
        } catch (err) {
          if (err instanceof ApiError) out = fail(err.status, err.code, err.message, err.headers);
          else {
            d.env.log(`error ${templated}: ${(err as Error).stack ?? String(err)}`);
            out = fail(500, 'INTERNAL_ERROR', `internal error: ${(err as Error).message}`);
          }
        }
      }
    }
    if (isApi)
      d.requests.add({
        method,
        route: templated,
        path: url.pathname,
        status: lost ? 0 : out[0],
        at: new Date().toISOString(),
        requestId,
      });
    // "Response lost": the work is done and persisted, the client just never hears about it.
    if (lost) req.socket.destroy();
    else send(res, out[0], out[1], out[2]);
  };
  return http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      d.env.log(`unhandled: ${err.message}`);
      if (!res.headersSent) send(res, 500, { code: 'INTERNAL_ERROR', message: err.message });
    });
  });
}
