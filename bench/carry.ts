/**
 * Carrying prod's writes since the fork: diffSinceFork and reconcileLateWrites (not a dry run) on one table, its fork
 * point a snapshot of it, with 1,000 prod changes since (400 inserts, 400 updates, 200 deletes) and a dev edit (a
 * column added, 100 rows updated, all of them rows prod updated too). Each call runs in a fresh process
 * (bench/lib/carry-child.ts) that samples its own memory every 50 ms, and again in another that collects garbage
 * before each sample (the heap it holds); for comparison, the full-map approach reconciliation took before (every
 * row's key and hash of both sides in Maps) runs the same way. Its own data-mode emulator; nothing else runs meanwhile.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { seedProject } from '../tools/emulator/seed';
import type { CarryJob, CarryMeasure } from './lib/carry-child';
import { api, settle } from './lib/neon-api';
import { readHandshake, REPO, spawnTs, stopChild } from './lib/procs';
import { table } from './lib/report';
import type { Neon } from './lib/stack';

/** One call: its plain measure, and the peak heap it held (the `live` measure's growth, garbage collected first). */
export type CarryCall = CarryMeasure & { liveHeapGrowthMb: number };

export type CarryResult = { rows: number; prodChanges: number; devEdits: number; calls: CarryCall[] };

type Ops = { operations?: { id: string }[] };

async function run(uri: string, sql: string, params?: unknown[]): Promise<void> {
  const client = new Client({ connectionString: uri });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** A branch restored from the snapshot without finalize, with an endpoint of its own; its connection string. */
async function restored(neon: Neon, projectId: string, snapshotId: string, name: string, type: string) {
  const made = await api<Ops & { branch: { id: string } }>(
    neon,
    'POST',
    `/projects/${projectId}/snapshots/${snapshotId}/restore`,
    { name, finalize_restore: false },
  );
  await settle(neon, projectId, made, 25);
  const ep = await api<Ops & { endpoint: { id: string } }>(neon, 'POST', `/projects/${projectId}/endpoints`, {
    endpoint: { branch_id: made.branch.id, type },
  });
  await settle(neon, projectId, ep, 25);
  const q = new URLSearchParams({
    branch_id: made.branch.id,
    endpoint_id: ep.endpoint.id,
    database_name: 'neondb',
    role_name: 'neondb_owner',
  });
  const { uri } = await api<{ uri: string }>(neon, 'GET', `/projects/${projectId}/connection_uri?${q.toString()}`);
  return { branchId: made.branch.id, endpointId: ep.endpoint.id, uri };
}

function measure(job: CarryJob): Promise<CarryMeasure> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', path.join(REPO, 'bench/lib/carry-child.ts')],
    {
      cwd: REPO,
      env: { ...process.env, CARRY_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('CARRY_RESULT='));
      if (code === 0 && line) resolve(JSON.parse(line.slice('CARRY_RESULT='.length)) as CarryMeasure);
      else reject(new Error(`carry child (${job.kind}) exited ${code}:\n${err}`));
    }),
  );
}

export async function runCarry(o: { rows: number; log: (l: string) => void }): Promise<CarryResult> {
  const emulator = spawnTs('tools/emulator/main.ts', ['--port', '0', '--op-delay', '20', '--snapshot-quota', '10']);
  try {
    const hs = await readHandshake(emulator, ['NEON_API_BASE_URL', 'NEON_API_KEY', 'NEON_EMULATOR_ADMIN_URL']);
    const neon = { baseUrl: hs.NEON_API_BASE_URL!, apiKey: hs.NEON_API_KEY!, adminUrl: hs.NEON_EMULATOR_ADMIN_URL! };
    const n = o.rows;
    o.log(`carry: a ${n.toLocaleString('en')}-row table on prod, forked`);
    const prod = await seedProject(neon, { name: 'carry', branchName: 'prod', rows: 10, source: 'carry' });
    await run(
      prod.connectionUri,
      `CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount numeric(10,2) NOT NULL,
         status text NOT NULL, note text)`,
    );
    for (let from = 1; from <= n; from += 200_000)
      await run(
        prod.connectionUri,
        `INSERT INTO orders SELECT g, g % 5000, (g % 1000) / 10.0, 'placed', md5(g::text)
           FROM generate_series($1::int, $2::int) g`,
        [from, Math.min(n, from + 199_999)],
      );
    // Pages as a table in use has them (hint bits set, statistics known), so the first measured reader does not pay.
    await run(prod.connectionUri, 'VACUUM ANALYZE orders');
    const p = prod.projectId;
    const snap = await api<Ops & { snapshot: { id: string } }>(
      neon,
      'POST',
      `/projects/${p}/branches/${prod.branchId}/snapshot?name=fork`,
    );
    await settle(neon, p, snap, 25);
    // Two copies of dev: reconcileLateWrites writes to its target, and each measure needs the same work to do.
    const devs = [
      await restored(neon, p, snap.snapshot.id, 'dev', 'read_write'),
      await restored(neon, p, snap.snapshot.id, 'dev-again', 'read_write'),
    ];
    const base = await restored(neon, p, snap.snapshot.id, 'fork-point', 'read_only');
    // 1,000 prod changes spread over the table; dev's 100 edited rows are among prod's updated ones (conflicts).
    await run(
      prod.connectionUri,
      `UPDATE orders SET status = 'paid' WHERE id % ${n / 400} = 1;
       DELETE FROM orders WHERE id % ${n / 200} = 2;
       INSERT INTO orders SELECT g, 1, 9.99, 'new', NULL FROM generate_series(${n + 1}, ${n + 400}) g`,
    );
    for (const dev of devs)
      await run(
        dev.uri,
        `ALTER TABLE orders ADD COLUMN priority int NOT NULL DEFAULT 0;
         UPDATE orders SET status = 'dev', priority = 1 WHERE id % ${n / 100} = 1`,
      );
    const where = { projectId: p, databaseName: 'neondb', roleName: 'neondb_owner' };
    const fork = { baseBranchId: base.branchId, baseEndpointId: base.endpointId, sourceBranchId: prod.branchId };
    const activity = { baseUrl: neon.baseUrl, apiKey: neon.apiKey };
    const reconcile = (dev: { branchId: string; endpointId: string }): CarryJob => ({
      kind: 'reconcileLateWrites',
      ...activity,
      input: {
        ...where,
        ...fork,
        targetBranchId: dev.branchId,
        targetEndpointId: dev.endpointId,
        tables: [{ table: 'orders', key: ['id'] }],
        onConflict: 'keep_prod',
      },
    });
    const diff: CarryJob = { kind: 'diffSinceFork', ...activity, input: { ...where, ...fork } };
    const maps: CarryJob = { kind: 'fullMaps', table: 'orders', baseUri: base.uri, sourceUri: prod.connectionUri };
    const calls: CarryCall[] = [];
    for (const [job, again] of [
      [diff, diff],
      [maps, maps],
      [reconcile(devs[0]!), reconcile(devs[1]!)],
    ] as const) {
      const m = await measure(job);
      const live = await measure({ ...again, live: true });
      calls.push({ ...m, liveHeapGrowthMb: Math.round((live.peakHeapMb - live.heapBeforeMb) * 10) / 10 });
      o.log(`carry: ${m.kind} ${m.wallMs} ms, peak RSS ${m.peakRssMb} MB (from ${m.rssBeforeMb} MB)`);
    }
    return { rows: n, prodChanges: 1000, devEdits: 100, calls };
  } finally {
    await stopChild(emulator);
  }
}

const LABELS: Record<CarryMeasure['kind'], string> = {
  diffSinceFork: 'diffSinceFork',
  reconcileLateWrites: 'reconcileLateWrites',
  fullMaps: 'full maps (before; read only)',
};

export function renderCarry(c: CarryResult, quick: boolean): string {
  const rows = c.calls.map((m) => [
    LABELS[m.kind],
    m.wallMs.toLocaleString('en'),
    `+${Math.round(m.peakRssMb - m.rssBeforeMb)}`,
    `+${Math.round(m.peakHeapMb - m.heapBeforeMb)}`,
    `+${m.liveHeapGrowthMb.toFixed(1)}`,
  ]);
  const size = `${c.rows.toLocaleString('en')}-row table${quick ? ' (--quick; the full run uses 1,000,000)' : ''}`;
  return [
    `Carrying prod's writes since the fork: ${size}, ${c.prodChanges} prod changes, ${c.devEdits} dev edits; each call in a fresh process\n`,
    table(['call', 'wall ms', 'peak RSS growth MB', 'peak heap growth MB', 'held heap MB (GC first)'], rows),
  ].join('\n');
}
