/**
 * Times a snapshot, a child branch and a finalized restore of a ~100 MB branch on the emulator, and what each does to
 * clients of the source (prod) while it runs. Run: npx tsx tools/emulator/measure.ts [sizeMB]
 *
 * Three clients query prod in a loop during each step:
 * - session: one connection that never reconnects, using a named prepared statement and a SET; it reports the first
 *   error it sees (if any), the longest gap between two answers, and whether its SET survived;
 * - reconnecting: reconnects after an error, counting errors;
 * - fresh: a new connection per query (how long new sessions wait).
 */
import { Client } from 'pg';
import { seedProject, startEmulator, waitForOperations } from './index';

type Result = { errors: number; maxGapMs: number; queries: number; firstError?: string; settingKept?: boolean };
type Probe = { stop(): Promise<Result> };
const QUERY = 'SELECT count(*) FROM items WHERE id < 10';

function gapClock(): { tick(): void; max(): number } {
  let last = performance.now();
  let max = 0;
  return {
    tick() {
      const now = performance.now();
      max = Math.max(max, now - last);
      last = now;
    },
    max: () => Math.round(max),
  };
}

function sessionProbe(uri: string): Probe {
  let running = true;
  const r: Result = { errors: 0, maxGapMs: 0, queries: 0 };
  const clock = gapClock();
  const c = new Client({ connectionString: uri });
  c.on('error', () => undefined);
  const loop = async (): Promise<void> => {
    await c.connect();
    await c.query(`SET statement_timeout = '7s'`);
    try {
      while (running) {
        await c.query({ name: 'probe', text: QUERY });
        clock.tick();
        r.queries++;
      }
      const s = await c.query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`);
      r.settingKept = s.rows[0]?.t === '7s';
    } catch (err) {
      r.errors++;
      r.firstError = (err as Error).message;
    }
    await c.end().catch(() => undefined);
  };
  const done = loop();
  return {
    async stop() {
      running = false;
      await done;
      return { ...r, maxGapMs: clock.max() };
    },
  };
}

function reconnectingProbe(uri: string, fresh: boolean): Probe {
  let running = true;
  const r: Result = { errors: 0, maxGapMs: 0, queries: 0 };
  const clock = gapClock();
  const loop = async (): Promise<void> => {
    while (running) {
      const c = new Client({ connectionString: uri });
      c.on('error', () => undefined);
      try {
        await c.connect();
        do {
          await c.query(QUERY);
          clock.tick();
          r.queries++;
        } while (running && !fresh);
        await c.end();
      } catch (err) {
        r.errors++;
        r.firstError ??= (err as Error).message;
        await c.end().catch(() => undefined);
      }
    }
  };
  const done = loop();
  return {
    async stop() {
      running = false;
      await done;
      return { ...r, maxGapMs: clock.max() };
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
  const r = (n: number): number => Math.round(n);
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

    /** Runs one step with the three probes on prod's connection string. */
    const step = async (path: string, body: unknown): Promise<[Mutation, Record<string, unknown>]> => {
      const probes = {
        session: sessionProbe(p.connectionUri),
        reconnecting: reconnectingProbe(p.connectionUri, false),
        fresh: reconnectingProbe(p.connectionUri, true),
      };
      await new Promise((res) => setTimeout(res, 300));
      const t = performance.now();
      const res = await post(path, body);
      const requestMs = performance.now() - t;
      await waitForOperations(emu, p.projectId, res.operations);
      const totalMs = performance.now() - t;
      const copy = emu.lastCopy();
      await new Promise((res) => setTimeout(res, 300));
      const clients: Record<string, Result> = {};
      for (const [k, pr] of Object.entries(probes)) clients[k] = await pr.stop();
      return [res, { requestMs: r(requestMs), untilOperationsFinishedMs: r(totalMs), copy, clients }];
    };
    const [snap, snapshot] = await step(`/projects/${p.projectId}/branches/${p.branchId}/snapshot`, {
      name: 'measure',
    });
    const [, childBranch] = await step(`/projects/${p.projectId}/branches`, { branch: { name: 'child' } });
    const [, finalizedRestore] = await step(`/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, {
      target_branch_id: p.branchId,
      finalize_restore: true,
    });
    const report = { databaseSizeMb: Number(size), snapshot, childBranch, finalizedRestore };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    await emu.stop();
  }
}

void main();
