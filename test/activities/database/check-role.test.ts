/**
 * The role SQL checks run as (src/activities/database/check-role.ts), against the emulator's real Postgres: a login
 * role of its own that reads what the owner reads, and is refused once it could do more.
 */
import { Client } from 'pg';
import type { VerificationCheck, VerifyBranchInput } from '../../../src/activities';
import { CHECK_ROLE } from '../../../src/activities/database/check-role';
import { seedProject, type SeededProject } from '../../../tools/emulator';
import { failureOf, type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
let seeded: SeededProject;

beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
  seeded = await seedProject(h.emu, { rows: 3 });
}, 120_000);
afterAll(async () => h?.stop());

function input(checks: VerificationCheck[]): VerifyBranchInput {
  const { projectId, branchId, databaseName, roleName } = seeded;
  return { projectId, branchId, databaseName, roleName, checks };
}

async function asOwner(sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: seeded.connectionUri });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const value = (sql: string, expected: string | number | boolean): VerificationCheck => ({
  kind: 'sql',
  name: sql,
  sql,
  expect: { value: expected },
});

test('checks run as the reader: its own session, no role to signal or write with, and the rows the owner sees', async () => {
  // A table whose row-level security shows the owner's roles everything (they bypass it) and others nothing.
  await asOwner(`CREATE TABLE secrets_rls (id int); INSERT INTO secrets_rls VALUES (1), (2);
    ALTER TABLE secrets_rls ENABLE ROW LEVEL SECURITY; ALTER TABLE secrets_rls FORCE ROW LEVEL SECURITY`);
  const res = await h.run(
    h.activities.verifyBranch,
    input([
      value('SELECT session_user::text', CHECK_ROLE),
      value('SELECT current_user::text', CHECK_ROLE),
      value("SELECT pg_has_role('pg_signal_backend', 'MEMBER')", false),
      value(`SELECT pg_has_role(${`'${seeded.roleName}'`}, 'MEMBER')`, false),
      value("SELECT has_table_privilege('items', 'INSERT, UPDATE, DELETE, TRUNCATE')", false),
      value('SELECT count(*) FROM items', 3),
      value('SELECT count(*) FROM secrets_rls', 2),
    ]),
  );
  expect(res.checks.filter((c) => !c.ok)).toEqual([]);
  // Its password opens a session for minutes, not for good.
  const [role] = await asOwner(
    `SELECT rolvaliduntil > now() AND rolvaliduntil <= now() + interval '5 minutes' AS brief FROM pg_roles WHERE rolname = '${CHECK_ROLE}'`,
  );
  expect(role).toEqual({ brief: true });
});

test('a reader that was given more than read access is refused (CheckRoleUnsafe, not retried) until it is taken back', async () => {
  await h.run(h.activities.verifyBranch, input([value('SELECT 1', 1)]));
  await asOwner(`CREATE ROLE np_more NOLOGIN; GRANT np_more TO ${CHECK_ROLE}`);
  const refused = await failureOf(h.run(h.activities.verifyBranch, input([value('SELECT 1', 1)])));
  expect(refused).toMatchObject({ type: 'CheckRoleUnsafe', nonRetryable: true });
  expect(refused.message).toContain('is a member of np_more');
  const gate = await failureOf(
    h.run(h.activities.explainChecks, { ...input([value('SELECT 1', 1)]), checks: [value('SELECT 1', 1)] }),
  );
  expect(gate).toMatchObject({ type: 'CheckRoleUnsafe' });
  await asOwner(`REVOKE np_more FROM ${CHECK_ROLE}`);
  await expect(h.run(h.activities.verifyBranch, input([value('SELECT 1', 1)]))).resolves.toMatchObject({ ok: true });
});

test('what the owner makes after the reader exists is readable at the next verification', async () => {
  await h.run(h.activities.verifyBranch, input([value('SELECT 1', 1)]));
  await asOwner(`CREATE SCHEMA later; CREATE TABLE later.orders (id serial, total int); INSERT INTO later.orders (total)
    VALUES (5), (7); CREATE VIEW later.big AS SELECT * FROM later.orders WHERE total > 6;
    CREATE TABLE later."Odd, ""quoted"" name" (id int)`);
  const res = await h.run(
    h.activities.verifyBranch,
    input([
      value('SELECT sum(total)::int FROM later.orders', 12),
      value('SELECT count(*) FROM later.big', 1),
      value('SELECT last_value::int FROM later.orders_id_seq', 2),
      value('SELECT count(*) FROM later."Odd, ""quoted"" name"', 0),
    ]),
  );
  expect(res.checks.filter((c) => !c.ok)).toEqual([]);
});
