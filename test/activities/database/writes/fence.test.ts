import { Client } from 'pg';
import { compareWritePositions } from '../../../../src/activities';
import { startWriter } from '../../../support/writer';
import { failureOf, type Harness, startHarness } from '../../../support/activity-harness';
import { type Prod, seedProd } from '../../../support/activity-prod';
import { asOwner } from '../../../support/fence';
import { until } from '../../../support/polling';
import { sql } from '../../../support/postgres';

let h: Harness;
let prod: Prod;
let uri: string;
const secretsSeen: string[] = [];

beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
  prod = await seedProd(h);
  uri = prod.connectionUri;
  await sql(uri, 'CREATE TABLE writes (id bigint PRIMARY KEY, note text)');
}, 120_000);
afterAll(async () => {
  // No result or failure of these activities may carry the password or the connection string.
  const password = new URL(uri).password;
  for (const text of secretsSeen) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(uri);
  }
  await h?.stop();
});

const target = () => ({ ...prod.where, branchId: prod.branchId });
const record = (extra = {}) =>
  h
    .run(h.activities.recordWritePosition, { ...target(), ...extra })
    .then((r) => (secretsSeen.push(JSON.stringify(r)), r));

describe('write detection', () => {
  it('sees the rows written between two positions, per table, once the writing session has ended', async () => {
    const before = await record();
    await sql(
      uri,
      `INSERT INTO writes SELECT g, 'x' FROM generate_series(1, 5) g;
       UPDATE items SET label = 'changed' WHERE id IN (1, 2);
       DELETE FROM items WHERE id = 3`,
    );
    const after = await until(
      'the writes in the statistics',
      () => record({ since: before }),
      (r) => r.comparison!.exact && r.comparison!.rowsChanged > 0,
    );
    expect(after.comparison).toMatchObject({
      writesDetected: true,
      exact: true,
      rowsChangedByTable: {
        'public.writes': { inserts: 5, updates: 0, deletes: 0 },
        'public.items': { inserts: 0, updates: 2, deletes: 1 },
      },
      rowsChanged: 8,
      uncertain: [],
    });
    expect(after.tables['public.writes']).toMatchObject({ inserts: 5, liveRows: 5 });
  });

  it('reports no writes when there were none, and failOnWrites refuses when there were', async () => {
    const a = await record();
    const b = await record({ since: a, failOnWrites: true });
    expect(b.comparison).toMatchObject({ writesDetected: false, rowsChanged: 0, rowsChangedByTable: {} });
    await sql(uri, "INSERT INTO writes VALUES (100, 'late')");
    const f = await until(
      'the write in the statistics',
      () => failureOf(record({ since: a, failOnWrites: true })),
      (e) => e.type === 'WritesDetected',
    );
    secretsSeen.push(JSON.stringify(f), f.message);
    expect(f).toMatchObject({ type: 'WritesDetected', nonRetryable: true });
    expect(f.details[0]).toMatchObject({ writes: { rowsChangedByTable: { 'public.writes': { inserts: 1 } } } });
  });

  it('treats counters that went backwards as possible writes, not as none', () => {
    const base = {
      branchId: 'br-a',
      lsn: '0/10',
      at: '2025-01-01T00:00:00Z',
      otherSessions: 0,
      databaseReadOnly: false,
      tablesTruncated: false,
    };
    const c = compareWritePositions(
      { ...base, tables: { 'public.t': { inserts: 9, updates: 0, deletes: 0, liveRows: 9 } } },
      { ...base, lsn: '0/F', tables: { 'public.t': { inserts: 0, updates: 0, deletes: 0, liveRows: 9 } } },
    );
    expect(c).toMatchObject({ writesDetected: true, rowsChanged: 0, lsnAdvanced: false });
    expect(c.uncertain[0]).toMatch(/went backwards/);
  });
});

describe('write fence', () => {
  it('ends write sessions, refuses writes until lifted, and loses no acknowledged row', async () => {
    const idle = new Client({ connectionString: uri });
    idle.on('error', () => undefined);
    await idle.connect();
    const writer = startWriter({ connectionString: uri, firstId: 1000 });
    try {
      await writer.waitForCommits(20);
      const fence = await h.run(h.activities.fenceWrites, { ...target(), position: true });
      secretsSeen.push(JSON.stringify(fence));
      expect(fence).toMatchObject({ alreadyFenced: false, remainingSessions: [] });
      expect(fence.sessionsEnded).toBeGreaterThanOrEqual(2); // the idle session and the writer's

      // The session that was open before the fence is gone; the writer's new sessions are read-only.
      await expect(idle.query('SELECT 1')).rejects.toThrow();
      await writer.waitForError('25006');
      const fenced = await record();
      expect(fenced).toMatchObject({ databaseReadOnly: true });
      // The position the fence read in its own session is the exact baseline: every ended session's writes counted.
      expect(fence.position).toMatchObject({ databaseReadOnly: true, tables: fenced.tables });
      expect(compareWritePositions(fence.position!, fenced)).toMatchObject({ writesDetected: false, rowsChanged: 0 });
      const committedWhileFenced = writer.committed().length;
      await writer.waitForError('25006'); // more attempts, all refused
      const held = await record({ since: fenced });
      expect(held.comparison).toMatchObject({ writesDetected: false, rowsChanged: 0 });
      expect(writer.committed().length).toBe(committedWhileFenced);

      const lift = await h.run(h.activities.liftFence, { ...prod.where, branchName: 'main', fencedAt: fence.fencedAt });
      secretsSeen.push(JSON.stringify(lift));
      expect(lift).toMatchObject({ branchId: prod.branchId, wasFenced: true, skipped: null });
      expect(lift.fencedForMs).toBeGreaterThanOrEqual(0);
      await writer.waitForCommits(20);
      expect(await record()).toMatchObject({ databaseReadOnly: false });
    } finally {
      await idle.end().catch(() => undefined);
      const report = await writer.stop();
      const rows = await sql<{ id: string }>(uri, 'SELECT id FROM writes WHERE id >= 1000');
      const present = new Set(rows.map((r) => Number(r.id)));
      expect(report.committed.filter((id) => !present.has(id))).toEqual([]);
      expect(report.committed.length).toBeGreaterThan(40);
    }
  });

  it('lift is idempotent and safe where nothing is fenced, nothing exists or nothing can connect', async () => {
    const once = await h.run(h.activities.liftFence, { ...prod.where, branchId: prod.branchId });
    expect(once).toMatchObject({ wasFenced: false, skipped: null, sessionsEnded: 0 });
    expect(await h.run(h.activities.liftFence, { ...prod.where, branchName: 'no such branch' })).toMatchObject({
      branchId: null,
      skipped: 'branch_not_found',
    });
    const bare = await h.run(h.activities.createBranch, {
      projectId: prod.projectId,
      name: 'bare',
      parentId: prod.branchId,
    });
    await prod.settle(bare);
    expect(await h.run(h.activities.liftFence, { ...prod.where, branchId: bare.branch.id })).toMatchObject({
      skipped: 'no_endpoint',
    });
    await sql(uri, "INSERT INTO writes VALUES (5000, 'after lift')");
  });

  it('a second fence reports the fence it found, and lift by name reaches the branch that is prod now', async () => {
    const first = await h.run(h.activities.fenceWrites, target());
    const again = await h.run(h.activities.fenceWrites, target(), 2);
    expect([first.alreadyFenced, again.alreadyFenced]).toEqual([false, true]);
    // A rollback restores prod under a new ID (on Neon the restored catalog carries the fence): lift by name.
    const snap = await prod.snapshot(prod.branchId, 'np-fence-rollback');
    const restored = await prod.swap(snap, prod.branchId);
    await h.run(h.activities.fenceWrites, { ...prod.where, branchId: restored });
    const lift = await h.run(h.activities.liftFence, { ...prod.where, branchName: 'main' });
    expect(lift).toMatchObject({ branchId: restored, wasFenced: true });
    await sql(uri, "INSERT INTO writes VALUES (6000, 'after rollback')");
    // The replaced branch lost its endpoint to the restored one: the lift says so instead of failing.
    expect(await h.run(h.activities.liftFence, { ...prod.where, branchId: prod.branchId })).toMatchObject({
      skipped: 'no_endpoint',
    });
  });

  it("lifts only a fence of ours, never the owner's own read-only setting, and does not take the owner's over", async () => {
    const branch = await prod.branch('owner-read-only', prod.branchId);
    const where = { ...prod.where, branchId: branch.id, endpointId: branch.endpointId };
    const uri = await prod.uriOf(branch.id);
    const readOnly = async () =>
      (await h.run(h.activities.recordWritePosition, { ...prod.where, branchId: branch.id })).databaseReadOnly;
    await asOwner(uri, 'SET default_transaction_read_only = on');
    expect(await h.run(h.activities.liftFence, where)).toMatchObject({ wasFenced: false, ownerReadOnly: true });
    // A fence raised over it leaves it the owner's: the run's lift after it leaves it too.
    expect(await h.run(h.activities.fenceWrites, where)).toMatchObject({ alreadyFenced: true });
    expect(await h.run(h.activities.liftFence, where)).toMatchObject({ wasFenced: false, ownerReadOnly: true });
    expect(await readOnly()).toBe(true);

    await asOwner(uri, 'RESET default_transaction_read_only');
    expect(await h.run(h.activities.fenceWrites, where)).toMatchObject({ alreadyFenced: false });
    expect(await readOnly()).toBe(true);
    expect(await h.run(h.activities.liftFence, where)).toMatchObject({ wasFenced: true, ownerReadOnly: false });
    expect(await readOnly()).toBe(false);
  });
});
