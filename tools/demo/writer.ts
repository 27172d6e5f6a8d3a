/**
 * The demo's stand-in for live traffic, so the fenced promotion shows what happens to writes in flight: a loop that
 * inserts a page view into prod's page_views every few milliseconds through prod's connection string, reconnecting
 * after errors, and remembers which inserts were acknowledged.
 */
import { Client } from 'pg';

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
