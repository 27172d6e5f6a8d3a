/**
 * The demo's stand-in for live traffic, so the fenced promotion shows what happens to writes in flight: a loop that
 * inserts a page view into prod every few milliseconds through prod's connection string, reconnecting after errors,
 * and remembers which inserts were acknowledged.
 */
import { Client } from 'pg';
import { waitForOperations } from '../emulator';
import { call, query, type NeonApi } from './neon';

export const PAGE_VIEWS = 'CREATE TABLE IF NOT EXISTS page_views (id bigint PRIMARY KEY, at timestamptz DEFAULT now())';

export type DemoWriter = { committed: number[]; refused: number; stop(): Promise<void> };

export function startDemoWriter(uri: string, intervalMs = 5): DemoWriter {
  const w: DemoWriter = { committed: [], refused: 0, stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    let next = 1;
    let client: Client | null = null;
    while (running) {
      try {
        if (!client) {
          client = new Client({ connectionString: uri });
          client.on('error', () => undefined);
          await client.connect();
        }
        await client.query('INSERT INTO page_views (id) VALUES ($1)', [next]);
        w.committed.push(next);
      } catch (err) {
        if ((err as { code?: string }).code === '25006') w.refused++; // read-only: refused, not lost
        await client?.end().catch(() => undefined);
        client = null;
      }
      next++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await client?.end().catch(() => undefined);
  })();
  w.stop = async () => {
    running = false;
    await loop;
  };
  return w;
}

/** Page view ids on a branch that may have no compute (a backup): through a read-only endpoint made for it. */
export async function pageViewsOn(api: NeonApi, projectId: string, branchId: string): Promise<Set<number>> {
  const r = await call<{ endpoint: { id: string }; operations: { id: string }[] }>(
    api,
    'POST',
    `/projects/${projectId}/endpoints`,
    {
      endpoint: { branch_id: branchId, type: 'read_only' },
    },
  );
  await waitForOperations(api, projectId, r.operations);
  const q = new URLSearchParams({
    branch_id: branchId,
    endpoint_id: r.endpoint.id,
    database_name: 'neondb',
    role_name: 'neondb_owner',
  });
  const { uri } = await call<{ uri: string }>(api, 'GET', `/projects/${projectId}/connection_uri?${q.toString()}`);
  const rows = await query<{ id: string }>(uri, 'SELECT id FROM page_views');
  return new Set(rows.map((x) => Number(x.id)));
}
