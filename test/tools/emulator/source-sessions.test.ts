/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   JSON bodies under test are checked by assertions here (and against the spec in guide-cycle.test.ts), not by types. */
import net from 'node:net';
import { Client } from 'pg';
import {
  seedProject,
  startEmulator,
  waitForOperations,
  type Emulator,
  type SeededProject,
} from '../../../tools/emulator';
import { type Json, rawApi } from '../../support/emulator-api';
import { sleep } from '../../support/polling';
import { sql } from '../../support/postgres';

// Snapshots and child branches copy their source with CREATE DATABASE ... TEMPLATE, which needs the source free of
// sessions; the proxy parks client sessions meanwhile. These tests hold sessions open on the source across copies.

let emu: Emulator;
let api: ReturnType<typeof rawApi>;
beforeAll(async () => {
  emu = await startEmulator({ operationDelayMs: 10, parkWaitMs: 400 });
  api = rawApi(emu);
});
afterAll(async () => emu?.stop());

const snapshot = async (p: SeededProject, name: string): Promise<Json> => {
  const r = await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name });
  expect(r.status).toBe(200);
  await waitForOperations(emu, p.projectId, r.body.operations as { id: string }[]);
  return r.body;
};

const connect = async (uri: string): Promise<{ c: Client; errors: Error[] }> => {
  const c = new Client({ connectionString: uri });
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  await c.connect();
  return { c, errors };
};

const pid = async (c: Client): Promise<number> =>
  (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

test('a session on the source survives a snapshot and a child branch: same connection, settings and prepared statements', async () => {
  const p = await seedProject(emu, { rows: 5 });
  const { c, errors } = await connect(p.connectionUri);
  await c.query(`SET statement_timeout = '7s'`);
  await c.query(`PREPARE by_id (int) AS SELECT label FROM items WHERE id = $1`);
  const named = { name: 'count_items', text: 'SELECT count(*)::int AS n FROM items' };
  expect((await c.query(named)).rows).toEqual([{ n: 5 }]);
  const before = await pid(c);

  // A query sent while the snapshot is being taken waits and is answered.
  const during = snapshot(p, 'with-session').then(() => undefined);
  const answered = await c.query<{ n: number }>(named);
  await during;
  expect(answered.rows).toEqual([{ n: 5 }]);
  expect(emu.lastCopy()).toMatchObject({ parked: 1, terminated: 0 });

  const child = await api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'child' } });
  await waitForOperations(emu, p.projectId, child.body.operations as { id: string }[]);
  expect(emu.lastCopy()).toMatchObject({ parked: 1, terminated: 0 });

  // The session now runs on another backend, with what it had set and prepared carried over.
  expect(await pid(c)).not.toBe(before);
  expect((await c.query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`)).rows[0]!.t).toBe('7s');
  expect((await c.query(named)).rows).toEqual([{ n: 5 }]);
  expect((await c.query<{ label: string }>('EXECUTE by_id(2)')).rows).toEqual([{ label: 'item 2' }]);
  expect(errors).toEqual([]);
  await c.end();
});

test('a transaction open when the copy starts is waited for, and what it commits is in the snapshot', async () => {
  const p = await seedProject(emu, { rows: 1 });
  const { c, errors } = await connect(p.connectionUri);
  await c.query('BEGIN');
  await c.query(`INSERT INTO items (label, source) VALUES ('late', 'tx')`);
  const snap = snapshot(p, 'after-commit');
  await sleep(100);
  await c.query('COMMIT');
  const s = (await snap).snapshot as Json;
  expect(emu.lastCopy()).toMatchObject({ parked: 1, terminated: 0 });
  const restored = await api('POST', `/projects/${p.projectId}/snapshots/${s.id}/restore`, { name: 'check' });
  await waitForOperations(emu, p.projectId, restored.body.operations as { id: string }[]);
  const ep = await api('POST', `/projects/${p.projectId}/endpoints`, {
    endpoint: { branch_id: restored.body.branch.id as string, type: 'read_write' },
  });
  await waitForOperations(emu, p.projectId, ep.body.operations as { id: string }[]);
  const uri = p.connectionUri.replace(p.endpointId, ep.body.endpoint.id as string);
  expect(await sql(uri, `SELECT count(*)::int AS n FROM items WHERE label = 'late'`)).toEqual([{ n: 1 }]);
  expect(errors).toEqual([]);
  await c.end();
});

test('a transaction still open after the wait, and a LISTEN session, are terminated and said so', async () => {
  const p = await seedProject(emu, { rows: 1 });
  const idle = await connect(p.connectionUri);
  await idle.c.query('BEGIN');
  const listener = await connect(p.connectionUri);
  await listener.c.query('LISTEN news');
  const plain = await connect(p.connectionUri);
  await snapshot(p, 'stuck');
  const report = emu.lastCopy()!;
  expect(report).toMatchObject({ parked: 1, terminated: 2 });
  expect(report.reasons.sort()).toEqual(['no transaction boundary within 400 ms', 'session holds LISTEN']);
  await expect(idle.c.query('SELECT 1')).rejects.toThrow();
  await expect(listener.c.query('SELECT 1')).rejects.toThrow();
  expect((await plain.c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  await plain.c.end();
});

test("a cancel request with the client's original key reaches the session's new backend", async () => {
  const p = await seedProject(emu, { rows: 1 });
  const { c } = await connect(p.connectionUri);
  await snapshot(p, 'then-cancel');
  expect(emu.lastCopy()).toMatchObject({ parked: 1 });
  const internals = c as unknown as { processID: number; secretKey: number };
  const started = Date.now();
  const slow = c.query('SELECT pg_sleep(10)');
  await sleep(100);
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(internals.processID, 8);
  packet.writeInt32BE(internals.secretKey, 12);
  const url = new URL(p.connectionUri);
  await new Promise<void>((resolve) =>
    net.connect(Number(url.port), url.hostname, function (this: net.Socket) {
      this.end(packet, () => resolve());
    }),
  );
  await expect(slow).rejects.toThrow(/cancel/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  await c.end();
});

test('clients connecting and leaving in a loop during copies see no error (sessions mid-login are parked too)', async () => {
  const p = await seedProject(emu, { rows: 1 });
  let running = true;
  const errors: string[] = [];
  let queries = 0;
  // Each client stays a little while, so one that logged in unnoticed during a copy would be ended by it.
  const session = async (): Promise<void> => {
    const { c } = await connect(p.connectionUri);
    try {
      await c.query('SELECT 1');
      await sleep(40);
      await c.query('SELECT 1');
      queries++;
    } finally {
      await c.end();
    }
  };
  const loop = async (): Promise<void> => {
    while (running) await session().catch((e: Error) => errors.push(e.message));
  };
  const loops = [loop(), loop(), loop(), loop()];
  try {
    await sleep(50);
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      await snapshot(p, name);
      expect(emu.lastCopy()).toMatchObject({ terminated: 0 });
    }
  } finally {
    running = false;
    await Promise.all(loops);
  }
  expect(errors).toEqual([]);
  expect(queries).toBeGreaterThan(10);
});
