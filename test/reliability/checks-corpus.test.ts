/**
 * Reliability: SQL checks that try to act instead of read. Each entry goes through the gate a workflow runs before
 * anything changes (explainChecks) and then, whatever the gate said, through a verification (verifyBranch), as a check
 * that slipped past the gate would: each must be refused (by the gate, or by Postgres when it runs) or harmless. After
 * each, prod is as it was: its sessions (an idle one and one in the middle of a query, both of the owner's role, as an
 * application on Neon connects), its rows and sequence, its settings, its advisory locks, its replication slots, and
 * no notification reached a listener. Real Postgres behind the emulator, with dblink installed (Neon offers it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { VerificationCheck } from '../../src/activities';
import { seedProject, type SeededProject } from '../../tools/emulator';
import { type Harness, startHarness } from '../support/activity-harness';
import { record } from '../support/reliability';

type Entry = {
  /** What the check tries. */
  name: string;
  /** The checks of one verification: the first acts, any next one tells whether the act outlived its check. */
  checks: VerificationCheck[];
  /** Run while an owner's session is in the middle of a query (for the signals). */
  busy?: boolean;
  /** The checks after the first are probes that pass only if the first one's act did not outlive it. */
  probe?: boolean;
};

const any = { rowCount: { op: 'gte' as const, value: 0 } };
const sql = (text: string, expect: Extract<VerificationCheck, { kind: 'sql' }>['expect'] = any): VerificationCheck => ({
  kind: 'sql',
  sql: text,
  expect,
});
const OTHERS = 'FROM pg_stat_activity WHERE pid <> pg_backend_pid()';

function corpus(owner: string, database: string): Entry[] {
  const ownerLiteral = `'${owner.replace(/'/g, "''")}'`;
  const APP = `FROM pg_stat_activity WHERE usename = ${ownerLiteral} AND pid <> pg_backend_pid()`;
  return [
    // The application's sessions by name: an unfiltered list also holds sessions no role but a superuser may signal,
    // whose refusal would end the statement before it reached the application's.
    {
      name: "pg_terminate_backend of the owner's sessions",
      checks: [sql(`SELECT pg_terminate_backend(pid) ${APP}`)],
      busy: true,
    },
    {
      name: "pg_cancel_backend of the owner's sessions",
      checks: [sql(`SELECT pg_cancel_backend(pid) ${APP}`)],
      busy: true,
    },
    {
      name: 'pg_terminate_backend of every session',
      checks: [sql(`SELECT pg_terminate_backend(pid) ${OTHERS}`)],
      busy: true,
    },
    {
      name: "set_config('role', <owner>) and then signal",
      checks: [
        sql(`SELECT set_config('role', ${ownerLiteral}, false)`),
        sql(`SELECT pg_terminate_backend(pid) ${APP}`),
      ],
      busy: true,
    },
    {
      name: 'set_config(role) and signal in one statement',
      checks: [sql(`SELECT set_config('role', ${ownerLiteral}, true), pg_terminate_backend(pid) ${APP}`)],
      busy: true,
    },
    {
      name: 'dblink_exec writing through a new connection',
      checks: [sql(`SELECT dblink_exec('dbname=${database}', 'DELETE FROM items')`)],
    },
    { name: 'a writing CTE', checks: [sql('WITH d AS (DELETE FROM items RETURNING 1) SELECT count(*) FROM d')] },
    { name: 'SELECT ... FOR UPDATE', checks: [sql('SELECT * FROM items FOR UPDATE')] },
    { name: 'nextval on a sequence', checks: [sql("SELECT nextval('items_id_seq')")] },
    { name: 'setval on a sequence', checks: [sql("SELECT setval('items_id_seq', 1000)")] },
    {
      name: 'transaction_read_only off inside the check',
      checks: [sql("SELECT set_config('transaction_read_only', 'off', true), (SELECT count(*) FROM items)")],
    },
    {
      name: 'default_transaction_read_only off for the session, then a write',
      checks: [
        sql("SELECT set_config('default_transaction_read_only', 'off', false)"),
        sql('WITH d AS (DELETE FROM items RETURNING 1) SELECT count(*) FROM d'),
      ],
    },
    {
      name: "search_path changed for the session's next check",
      checks: [
        sql("SELECT set_config('search_path', 'nowhere', false)"),
        sql('SELECT count(*) FROM items', { value: 3 }),
      ],
      probe: true,
    },
    {
      name: 'a session advisory lock kept past its check',
      checks: [
        sql('SELECT pg_advisory_lock(42)'),
        sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", { value: 0 }),
      ],
      probe: true,
    },
    { name: 'pg_terminate_backend of its own session', checks: [sql('SELECT pg_terminate_backend(pg_backend_pid())')] },
    { name: 'pg_sleep for an hour', checks: [sql('SELECT pg_sleep(3600)')] },
    { name: 'pg_notify to a listener', checks: [sql("SELECT pg_notify('app_events', 'from a check')")] },
    { name: 'pg_reload_conf', checks: [sql('SELECT pg_reload_conf()')] },
    { name: 'pg_stat_reset', checks: [sql('SELECT pg_stat_reset()')] },
    { name: 'pg_read_file of the server', checks: [sql("SELECT pg_read_file('postgresql.conf')")] },
    { name: 'lo_create', checks: [sql('SELECT lo_create(0)')] },
    {
      name: 'a logical replication slot (retains WAL for ever)',
      checks: [sql("SELECT pg_create_logical_replication_slot('np_corpus', 'test_decoding')")],
    },
    { name: 'pg_logical_emit_message', checks: [sql("SELECT pg_logical_emit_message(true, 'np', 'x')")] },
    { name: 'pg_switch_wal', checks: [sql('SELECT pg_switch_wal()')] },
  ];
}

const dataDir = mkdtempSync(join(tmpdir(), 'np-checks-corpus-'));
let h: Harness;
let seeded: SeededProject;
let app: Client;
let appPid: number;
const notifications: string[] = [];

async function owner(): Promise<Client> {
  const c = new Client({ connectionString: seeded.connectionUri });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

beforeAll(async () => {
  h = await startHarness({ mode: 'data', dataDir });
  seeded = await seedProject(h.emu, { rows: 3 });
  app = await owner();
  appPid = Number((await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  app.on('notification', (n) => notifications.push(n.payload ?? ''));
  await app.query('LISTEN app_events');
  // dblink, as on a Neon project that installed it: made by the cluster's superuser (the emulator's private socket).
  const physical = (await app.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  const su = new Client({ host: join(dataDir, 'cluster', 'sock'), port: 5433, user: 'postgres', database: physical });
  await su.connect();
  await su.query('CREATE EXTENSION IF NOT EXISTS dblink');
  await su.end();
}, 120_000);
afterAll(async () => {
  await app?.end().catch(() => undefined);
  await h?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** What a check must not change on prod, read from the application's own session (which must still be the same). */
async function prodState(): Promise<Record<string, unknown>> {
  const one = async (text: string) => (await app.query(text)).rows[0] as Record<string, unknown>;
  const fresh = await owner();
  try {
    const lock = await one('SELECT pg_try_advisory_lock(42) AS free');
    await app.query('SELECT pg_advisory_unlock_all()');
    return {
      appPid: (await one('SELECT pg_backend_pid() AS pid')).pid,
      items: await one(
        "SELECT count(*)::int AS n, md5(string_agg(id || ':' || label, ',' ORDER BY id)) AS digest FROM items",
      ),
      sequence: await one('SELECT last_value, is_called FROM items_id_seq'),
      settings: await one('SELECT count(*)::int AS n FROM pg_db_role_setting'),
      readOnlyByDefault: (await fresh.query('SHOW default_transaction_read_only')).rows[0],
      slots: await one('SELECT count(*)::int AS n FROM pg_replication_slots'),
      advisoryLockFree: lock.free,
      notifications: notifications.length,
    };
  } finally {
    await fresh.end();
  }
}

test('checks corpus: every check that tries to act is refused or harmless, and prod is as it was', async () => {
  const { projectId, branchId, databaseName, roleName } = seeded;
  const where = { projectId, branchId, databaseName, roleName };
  const before = await prodState();
  expect(before).toMatchObject({ appPid, items: { n: 3 }, advisoryLockFree: true, slots: { n: 0 } });
  const outcomes: { name: string; outcome: string }[] = [];
  for (const entry of corpus(roleName, databaseName)) {
    let busy: Promise<string> | undefined;
    let busyClient: Client | undefined;
    if (entry.busy) {
      busyClient = await owner();
      busy = busyClient.query('SELECT pg_sleep(4)').then(
        () => 'finished',
        (err: Error) => `failed: ${err.message}`,
      );
    }
    const gate = await h.run(h.activities.explainChecks, { ...where, checks: entry.checks });
    // A check that ends its own session fails its verification's attempt (the workflow retries it a few times).
    const verified = await h
      .run(h.activities.verifyBranch, { ...where, checks: entry.checks, statementTimeoutMs: 1000 })
      .catch((err: { type?: string }) => err);
    const first = 'checks' in verified ? verified.checks[0]! : undefined;
    const outcome = gate.refused.length
      ? `refused by the gate (${gate.refused[0]!.reason.slice(0, 60)})`
      : !first
        ? `refused: the verification failed (${(verified as { type?: string }).type})`
        : first.detail.startsWith('error:')
          ? `refused by Postgres (${first.detail.slice(7, 67)})`
          : 'ran, harmless';
    outcomes.push({ name: entry.name, outcome });
    if (entry.probe && 'checks' in verified)
      for (const later of verified.checks.slice(1)) expect([entry.name, later.ok]).toEqual([entry.name, true]);
    if (busy) {
      expect({ entry: entry.name, busy: await busy }).toEqual({ entry: entry.name, busy: 'finished' });
      await busyClient!.end();
    }
    expect({ entry: entry.name, ...(await prodState()) }).toEqual({ entry: entry.name, ...before });
  }
  const count = (prefix: string) => outcomes.filter((o) => o.outcome.startsWith(prefix)).length;
  expect(outcomes.find((o) => o.name.includes('its own session'))?.outcome).toMatch(/DatabaseUnreachable/);
  record(__filename, {
    section: 'checks corpus',
    tried: `${outcomes.length} SQL checks that try to act (signal backends, escape to the owner's role, dblink_exec, write, persist settings, hold advisory locks, sleep, notify, server functions, replication slots), each through the gate and, whatever it said, a verification`,
    count: outcomes.length,
    held: `${count('refused by the gate')} refused by the gate, ${count('refused by Postgres')} refused by Postgres as the checks' read-only role, ${count('refused: ')} failed its verification (a check that ended its own session), ${count('ran')} ran harmlessly; after each, prod's sessions (one mid-query), rows, sequence, settings, advisory locks and slots were as before and no notification arrived`,
    ok: true,
  });
}, 180_000);
