/**
 * Times a snapshot and a finalized restore of a ~100 MB branch on the emulator, and how long a client of the source
 * (prod) is disturbed by each. Run: npx tsx src/emulator/measure.ts [sizeMB]
 */
import { Client } from 'pg';
import { seedProject, startEmulator, waitForOperations } from './index';

type Probe = { stop(): Promise<{ errors: number; maxGapMs: number; queries: number }> };

/** A client querying in a loop through a connection string, reconnecting on error, recording the longest gap. */
function probe(uri: string): Probe {
  let running = true;
  let errors = 0;
  let queries = 0;
  let last = performance.now();
  let maxGapMs = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const c = new Client({ connectionString: uri });
      c.on('error', () => undefined);
      try {
        await c.connect();
        while (running) {
          await c.query('SELECT count(*) FROM items WHERE id < 10');
          const now = performance.now();
          maxGapMs = Math.max(maxGapMs, now - last);
          last = now;
          queries++;
        }
        await c.end();
      } catch {
        errors++;
        await c.end().catch(() => undefined);
      }
    }
  };
  const done = loop();
  return {
    async stop() {
      running = false;
      await done;
      return { errors, maxGapMs: Math.round(maxGapMs), queries };
    },
  };
}

async function main(): Promise<void> {
  const sizeMb = Number(process.argv[2] ?? 100);
  const emu = await startEmulator({ operationDelayMs: 0 });
  const h = { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' };
  type Mutation = { snapshot: { id: string }; operations: { id: string }[] };
  const post = async (path: string, body: unknown): Promise<Mutation> =>
    (
      await fetch(`${emu.baseUrl}${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) })
    ).json() as Promise<Mutation>;
  try {
    const p = await seedProject(emu, { rows: 0 });
    const c = new Client({ connectionString: p.connectionUri });
    await c.connect();
    // ~1.1 kB per row including overhead.
    await c.query(
      `INSERT INTO items (label, source) SELECT repeat(md5(g::text), 32), 'prod' FROM generate_series(1, $1::int) g`,
      [sizeMb * 900],
    );
    const size = (await c.query<{ mb: string }>('SELECT round(pg_database_size(current_database()) / 1048576.0) AS mb'))
      .rows[0]!.mb;
    await c.end();

    let pr = probe(p.connectionUri);
    await new Promise((r) => setTimeout(r, 300));
    let t = performance.now();
    const snap = await post(`/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 'measure' });
    const snapshotRequestMs = performance.now() - t;
    await waitForOperations(emu, p.projectId, snap.operations);
    const snapshotTotalMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 300));
    const duringSnapshot = await pr.stop();

    pr = probe(p.connectionUri);
    await new Promise((r) => setTimeout(r, 300));
    t = performance.now();
    const restore = await post(`/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, {
      target_branch_id: p.branchId,
      finalize_restore: true,
    });
    const restoreRequestMs = performance.now() - t;
    await waitForOperations(emu, p.projectId, restore.operations);
    const restoreTotalMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 300));
    const duringRestore = await pr.stop();

    const r = (n: number): number => Math.round(n);
    process.stdout.write(
      JSON.stringify(
        {
          databaseSizeMb: Number(size),
          snapshot: {
            requestMs: r(snapshotRequestMs),
            untilOperationsFinishedMs: r(snapshotTotalMs),
            sourceClient: duringSnapshot,
          },
          finalizedRestore: {
            requestMs: r(restoreRequestMs),
            untilOperationsFinishedMs: r(restoreTotalMs),
            targetClient: duringRestore,
          },
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await emu.stop();
  }
}

void main();
