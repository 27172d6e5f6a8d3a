/**
 * Roles made with SQL (not through the API) log in through the emulator's proxy as at Neon ("Manage roles with SQL",
 * "Manage database access"), judged by Postgres's rules: the right password of a LOGIN role before its VALID UNTIL.
 * The embedded cluster trusts its private socket, so without the proxy's check any password would do.
 */
import { Client } from 'pg';
import { type Emulator, seedProject, startEmulator, type SeededProject } from '../../../tools/emulator';
import { matches } from '../../../tools/emulator/pg/sql-roles';

let emu: Emulator;
let seeded: SeededProject;

beforeAll(async () => {
  emu = await startEmulator({ operationDelayMs: 10 });
  seeded = await seedProject(emu, { rows: 1 });
}, 120_000);
afterAll(async () => emu?.stop());

async function owner(sql: string): Promise<void> {
  const c = new Client({ connectionString: seeded.connectionUri });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

/** Logs in as `user` with `password` through the project's endpoint; the session's user, or the error's code. */
async function login(user: string, password: string): Promise<string> {
  const url = new URL(seeded.connectionUri);
  url.username = user;
  url.password = password;
  const c = new Client({ connectionString: url.toString() });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return String((await c.query<{ u: string }>('SELECT session_user::text AS u')).rows[0]?.u);
  } catch (err) {
    return `error ${(err as { code?: string }).code}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('an API role may create roles; a SQL role logs in with its password only, while it may log in', async () => {
  await owner(`CREATE ROLE sql_reader LOGIN PASSWORD 'Rd1-correct-horse'`);
  expect(await login('sql_reader', 'Rd1-correct-horse')).toBe('sql_reader');
  expect(await login('sql_reader', 'Rd1-wrong-horse')).toBe('error 28P01');
  expect(await login('no_such_role', 'Rd1-correct-horse')).toBe('error 28P01');

  await owner(`ALTER ROLE sql_reader VALID UNTIL '2000-01-01'`);
  expect(await login('sql_reader', 'Rd1-correct-horse')).toBe('error 28P01');
  await owner(`ALTER ROLE sql_reader VALID UNTIL 'infinity' NOLOGIN`);
  expect(await login('sql_reader', 'Rd1-correct-horse')).toBe('error 28P01');
  await owner(`ALTER ROLE sql_reader LOGIN PASSWORD NULL`);
  expect(await login('sql_reader', '')).toBe('error 28P01');
});

test('MD5 secrets are checked too', () => {
  // md5 of the password followed by the role name, as Postgres stores it.
  expect(matches('md53175bce1d3201d16594cebf9d7eb3f9d', 'postgres', 'postgres')).toBe(true);
  expect(matches('md53175bce1d3201d16594cebf9d7eb3f9d', 'postgres', 'other')).toBe(false);
});
