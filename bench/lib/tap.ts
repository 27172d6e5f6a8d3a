/**
 * A recording HTTP proxy between the clients under test (the worker, the guide script) and the emulator. The emulator
 * logs requests with second-free timestamps but no durations; the benchmark needs when each call started and ended to
 * split a promotion's wall time into time inside Neon and orchestration overhead. Optionally it also enforces Neon's
 * published rate limit (700 requests a minute, 40 a second per route), which the emulator only offers as a random
 * fault, so "zero 429s" is tested against a real limiter rather than assumed.
 */
import http from 'node:http';
import type net from 'node:net';

export type TapRecord = {
  method: string;
  /** Path with IDs templated, e.g. 'GET /projects/{id}/operations/{id}' (the per-route unit of the rate limit). */
  route: string;
  path: string;
  start: number;
  end: number;
  status: number;
  /** Operations a mutation started (from its response). */
  operationIds: string[];
  /** For GET .../operations/{id}: the status the poll saw. */
  operationStatus?: string;
  /** For GET .../operations (a page of them, the settle loop's poll of several): each one's status. */
  listedStatuses?: Record<string, string>;
};

export type Tap = {
  url: string;
  records: TapRecord[];
  rejected429: number;
  /** Which limit each 429 hit. */
  rejectedBy: { minute: number; route: number };
  setLimit(limit: { perMinute: number; perSecondPerRoute: number } | null): void;
  stop(): Promise<void>;
};

const ID_AFTER = new Set(['projects', 'branches', 'snapshots', 'operations', 'endpoints', 'databases', 'roles']);

export function templateOf(method: string, path: string): string {
  const parts = path.replace(/^\/api\/v2/, '').split('/');
  for (let i = 1; i < parts.length; i++) if (ID_AFTER.has(parts[i - 1]!)) parts[i] = '{id}';
  return `${method} ${parts.join('/')}`;
}

/** Sliding-window limiter over admitted requests, as Neon describes its limit. */
class Limiter {
  private minute: number[] = [];
  private readonly perRoute = new Map<string, number[]>();
  constructor(readonly limit: { perMinute: number; perSecondPerRoute: number }) {}
  admit(route: string, now: number): 'ok' | 'minute' | 'route' {
    this.minute = this.minute.filter((t) => t > now - 60_000);
    const r = (this.perRoute.get(route) ?? []).filter((t) => t > now - 1_000);
    this.perRoute.set(route, r);
    if (this.minute.length >= this.limit.perMinute) return 'minute';
    if (r.length >= this.limit.perSecondPerRoute) return 'route';
    this.minute.push(now);
    r.push(now);
    return 'ok';
  }
}

export async function startTap(target: string): Promise<Tap> {
  const origin = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let limiter: Limiter | null = null;
  const tap: Tap = {
    url: '',
    records: [],
    rejected429: 0,
    rejectedBy: { minute: 0, route: 0 },
    setLimit: (l) => void (limiter = l ? new Limiter(l) : null),
    stop: () => new Promise((res) => (server.closeAllConnections(), server.close(() => res()), agent.destroy())),
  };
  const server = http.createServer((req, res) => {
    const start = Date.now();
    const path = req.url ?? '/';
    const route = templateOf(req.method ?? 'GET', path.split('?')[0]!);
    const isApi = path.startsWith('/api/v2/');
    const verdict = isApi && limiter ? limiter.admit(route, start) : 'ok';
    if (verdict !== 'ok') {
      tap.rejected429++;
      tap.rejectedBy[verdict]++;
      tap.records.push({ method: req.method!, route, path, start, end: Date.now(), status: 429, operationIds: [] });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ code: 'TOO_MANY_REQUESTS', message: 'rate limit exceeded (benchmark limiter)' }));
      return;
    }
    const up = http.request(
      { host: origin.hostname, port: origin.port, method: req.method, path, headers: req.headers, agent },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
          if (isApi)
            tap.records.push({
              ...describe(req.method ?? 'GET', body),
              method: req.method!,
              route,
              path,
              start,
              end: Date.now(),
              status: upRes.statusCode ?? 0,
            });
        });
      },
    );
    up.on('error', () => {
      if (isApi)
        tap.records.push({ method: req.method!, route, path, start, end: Date.now(), status: 0, operationIds: [] });
      res.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  tap.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return tap;
}

function describe(
  method: string,
  body: Buffer,
): Pick<TapRecord, 'operationIds' | 'operationStatus' | 'listedStatuses'> {
  try {
    const json = JSON.parse(body.toString('utf8')) as {
      operations?: { id: string; status: string }[];
      operation?: { status: string };
    };
    // A GET's `operations` is a page of the project's operations (a poll), not operations it started.
    if (method === 'GET' && json.operations)
      return { operationIds: [], listedStatuses: Object.fromEntries(json.operations.map((o) => [o.id, o.status])) };
    return { operationIds: (json.operations ?? []).map((o) => o.id), operationStatus: json.operation?.status };
  } catch {
    return { operationIds: [] };
  }
}
