/**
 * Projects for the benchmark, made straight against the emulator the way the guide's Phase 1 does it: prod (with
 * real rows in data mode), a snapshot of it, dev restored from that as a root branch with its own compute, the
 * snapshot deleted, prod protected. Done outside any measured window.
 */
import { Client } from 'pg';
import { seedProject } from '../../tools/emulator/seed';
import { api, connectionString, settle } from './neon-api';
import type { Neon } from './stack';

type Ops = { operations?: { id: string }[] };

export type BenchProject = { projectId: string; prodUri: string; dataMb: number };

/** Guide Phase 1, steps 2-5. */
export async function setupDev(neon: Neon, p: string, prod: string, pollMs: number): Promise<void> {
  // Kept as the fork point, as neon-promote's setup keeps its baseline: promotions count prod's writes since it.
  const snap = await api<Ops & { snapshot: { id: string } }>(
    neon,
    'POST',
    `/projects/${p}/branches/${prod}/snapshot?name=np-fork-bench-setup`,
  );
  await settle(neon, p, snap, pollMs);
  const restore = { name: 'dev', finalize_restore: false };
  const dev = await api<Ops & { branch: { id: string } }>(
    neon,
    'POST',
    `/projects/${p}/snapshots/${snap.snapshot.id}/restore`,
    restore,
  );
  await settle(neon, p, dev, pollMs);
  const endpoint = { endpoint: { branch_id: dev.branch.id, type: 'read_write' } };
  await settle(neon, p, await api<Ops>(neon, 'POST', `/projects/${p}/endpoints`, endpoint), pollMs);
  const protect = { branch: { protected: true } };
  await settle(neon, p, await api<Ops>(neon, 'PATCH', `/projects/${p}/branches/${prod}`, protect), pollMs);
}

/** ~1 KB rows; Postgres keeps values under 2 KB uncompressed, so the size on disk is what was asked for. */
async function fill(uri: string, mb: number): Promise<number> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    await c.query('CREATE TABLE payload (id int PRIMARY KEY, blob text NOT NULL)');
    const rows = Math.round(mb * 900);
    for (let from = 1; from <= rows; from += 20_000) {
      const to = Math.min(rows, from + 19_999);
      const sql = 'INSERT INTO payload SELECT g, repeat(md5(g::text), 30) FROM generate_series($1::int, $2::int) g';
      await c.query(sql, [from, to]);
    }
    const size = await c.query<{ mb: string }>('SELECT pg_database_size(current_database()) / 1048576.0 AS mb');
    return Number(size.rows[0]!.mb);
  } finally {
    await c.end();
  }
}

/** A data-mode project whose prod holds about `mb` MB, with dev set up from it. */
export async function seedBenchProject(neon: Neon, name: string, mb: number): Promise<BenchProject> {
  const seeded = await seedProject(neon, { name, branchName: 'prod', rows: 100, source: name });
  const dataMb = await fill(seeded.connectionUri, mb);
  await setupDev(neon, seeded.projectId, seeded.branchId, 25);
  return {
    projectId: seeded.projectId,
    prodUri: await connectionString(neon, seeded.projectId, seeded.branchId),
    dataMb,
  };
}

/** A memory-mode project (control plane only) with prod and dev. */
async function seedEmpty(neon: Neon, name: string): Promise<string> {
  const created = await api<Ops & { project: { id: string }; branch: { id: string } }>(neon, 'POST', '/projects', {
    project: { name, branch: { name: 'prod' } },
  });
  await settle(neon, created.project.id, created, 250);
  await setupDev(neon, created.project.id, created.branch.id, 250);
  return created.project.id;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export function seedFleet(neon: Neon, n: number, label: string): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${label}-${i}`);
  return pool(names, 100, (name) => seedEmpty(neon, name));
}
