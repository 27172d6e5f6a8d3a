import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/** An error the API answers with Neon's GeneralError body `{code, message, request_id}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type Ctx = {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  requestId: string;
};

export type Reply = { status: number; body?: unknown };
export type Handler = (ctx: Ctx) => Promise<Reply> | Reply;
export type Route = { method: string; template: string; handler: Handler; parts: string[] };

export function route(method: string, template: string, handler: Handler): Route {
  return { method, template, handler, parts: template.split('/').filter(Boolean) };
}

export function match(
  routes: Route[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  const segs = pathname.split('/').filter(Boolean);
  for (const r of routes) {
    if (r.method !== method || r.parts.length !== segs.length) continue;
    const params: Record<string, string> = {};
    const ok = r.parts.every((p, i) => {
      const seg = decodeURIComponent(segs[i]!);
      if (p.startsWith('{')) return ((params[p.slice(1, -1)] = seg), true);
      return p === seg;
    });
    if (ok) return { route: r, params };
  }
  return undefined;
}

export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'request body is not valid JSON');
  }
}

/** Parses a body with zod, answering 400 with the first issue as Neon does for invalid requests. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') + ': ' : '';
  throw new ApiError(400, 'BAD_REQUEST', `invalid request body: ${where}${issue?.message ?? 'invalid'}`);
}

/** A query parameter that takes one of `values`, or `fallback` when absent; anything else is refused. */
export function enumParam<T extends string>(
  query: URLSearchParams,
  name: string,
  values: readonly T[],
  fallback: T,
): T {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!(values as readonly string[]).includes(raw))
    throw new ApiError(400, 'BAD_REQUEST', `${name} must be one of ${values.join(', ')}`);
  return raw as T;
}

/** A boolean query parameter (`true` or `false`), false when absent. */
export const boolParam = (query: URLSearchParams, name: string): boolean =>
  enumParam(query, name, ['true', 'false'], 'false') === 'true';

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
  res.end(text);
}
