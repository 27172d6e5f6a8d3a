import { randomBytes } from 'node:crypto';
import type { CallOptions, NeonClient } from '../../neon';
import { connectionSecrets, redact } from '../../shared/secrets';
import type { BranchDatabase } from '../contract';
import type { DbConnector, DbSession } from '../deps';
import { failure } from '../failures';
import { branchConnectionUri } from './connect';

/**
 * The role SQL checks run as: a login role with read access only, made with SQL by the database's owner.
 *
 * A read-only transaction stops writes, not actions: the owner Neon gives a project (like every role made through
 * Neon's Console, CLI or API) is a member of `neon_superuser`, whose rights include `pg_signal_backend`, so as the owner
 * `SELECT pg_terminate_backend(pid) FROM pg_stat_activity` ends every session on the branch. A role made through the
 * API gets the same membership ("Manage roles": roles created in the Console, CLI or API are granted membership in
 * neon_superuser), so the reader is made with SQL, which gives a role no more than a plain Postgres role has. Running
 * as the owner and `SET ROLE` to a reader inside the check's transaction would not do: the check itself may run
 * `set_config('role', <owner>, ...)`, as a session may always become its session user again.
 *
 * Read access comes from grants of USAGE on schemas and SELECT on tables, views and sequences, the owner's to give
 * ("Manage database access", Create a read-only role). `pg_read_all_data` would be tidier, but `neon_superuser` is a
 * member of it without the ADMIN option, which Postgres 16 and later require to grant it. The grants are made again at
 * each use for objects created since, and stay: they appear in the schema's privileges, on every branch made since.
 * The reader gets BYPASSRLS when the owner has it, so a check counts the rows the owner would.
 */
export const CHECK_ROLE = 'neon_promote_checks';

/** The only role the reader may be a member of (an operator may grant it where Postgres lets them): read access. */
const ALLOWED_MEMBERSHIPS = ['pg_read_all_data'];

/** How long the reader's password lets it log in: the session opens right after the password is set. */
const LOGIN_WINDOW = '5 minutes';

const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * Creates the reader if it is missing or gives it a new password, valid for a few minutes, and grants it what the owner
 * may grant of reading this database. One DO block, so it is applied whole or not at all. Neon takes passwords only in
 * plain text ("Manage roles with SQL"), so the password is in the statement: it is random, used once, expires, and
 * opens a session that can only read.
 */
function prepareSql(password: string): string {
  return `DO $np$
DECLARE
  reader constant text := '${CHECK_ROLE}';
  names text;
  kind text;
BEGIN
  -- With its password from the start: Neon asks one of every role made with SQL ("Manage database access").
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = reader) THEN
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L VALID UNTIL %L%s', reader, '${password}',
      (now() + interval '${LOGIN_WINDOW}')::text,
      CASE WHEN (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN ' BYPASSRLS' ELSE '' END);
  ELSE
    EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L VALID UNTIL %L', reader, '${password}',
      (now() + interval '${LOGIN_WINDOW}')::text);
  END IF;
  IF NOT has_database_privilege(reader, current_database(), 'CONNECT') THEN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), reader);
  END IF;
  -- One GRANT per kind of object, each naming them all: thousands of tables take one statement, not thousands.
  SELECT string_agg(quote_ident(n.nspname), ', ') INTO names FROM pg_namespace n
    WHERE ${USER_SCHEMA} AND has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION')
      AND NOT has_schema_privilege(reader, n.oid, 'USAGE');
  IF names IS NOT NULL THEN EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', names, reader); END IF;
  FOR kind IN SELECT unnest(ARRAY['TABLE', 'SEQUENCE']) LOOP
    SELECT string_agg(c.oid::regclass::text, ', ') INTO names FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA} AND c.relkind = ANY (CASE kind WHEN 'TABLE' THEN '{r,p,v,m,f}'::char[] ELSE '{S}'::char[] END)
        AND has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION') AND NOT has_table_privilege(reader, c.oid, 'SELECT');
    IF names IS NOT NULL THEN EXECUTE format('GRANT SELECT ON %s %s TO %I', kind, names, reader); END IF;
  END LOOP;
END $np$`;
}

/**
 * What makes the session more than a reader, or null: checked from the session the checks use, whatever made the role
 * (an operator may have changed it since the product made it).
 */
const UNSAFE = `SELECT CASE
    WHEN session_user <> current_user THEN 'runs as ' || current_user
    WHEN r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
      THEN 'has SUPERUSER, CREATEROLE, CREATEDB or REPLICATION'
    ELSE (SELECT 'is a member of ' || string_agg(m.rolname, ', ' ORDER BY m.rolname) FROM pg_roles m
      WHERE m.oid <> r.oid AND pg_has_role(r.oid, m.oid, 'MEMBER') AND m.rolname <> ALL ($1::text[]))
  END AS problem
  FROM pg_roles r WHERE r.rolname = current_user`;

/** Random, with every character class, far above Neon's 60 bits of entropy; no quote can end the SQL literal. */
function newPassword(): string {
  return `Np1-${randomBytes(24).toString('base64url')}`;
}

/** The owner's connection string with the reader's name and password. */
function asReader(ownerUri: string, password: string): string {
  const url = new URL(ownerUri);
  url.username = CHECK_ROLE;
  url.password = password;
  return url.toString();
}

/**
 * Opens the session SQL checks run in: as the reader, on the branch (and endpoint) given. Returns the secrets an error
 * message may carry (both connection strings and both passwords), for the caller's redaction.
 */
export async function openCheckSession(
  neon: NeonClient,
  db: DbConnector,
  database: BranchDatabase,
  call: CallOptions,
  statementTimeoutMs: number,
): Promise<{ session: DbSession; secrets: string[] }> {
  const ownerUri = await branchConnectionUri(neon, database, call);
  const password = newPassword();
  const readerUri = asReader(ownerUri, password);
  const secrets = [...connectionSecrets(ownerUri), ...connectionSecrets(readerUri)];
  const unreachable = (err: unknown) =>
    failure('DatabaseUnreachable', `cannot connect to branch ${database.branchId}: ${redact(messageOf(err), secrets)}`);

  // Granting on every table of a large schema for the first time takes a while: a generous bound, retried whole.
  const owner = await db(ownerUri, { statementTimeoutMs: 60_000, lockTimeoutMs: 5_000, mode: 'write' }).catch(
    (err: unknown) => {
      throw unreachable(err);
    },
  );
  try {
    // Read-write explicitly: a write fence on prod makes read-only the default, not a rule for the product's own role.
    await owner.query('BEGIN READ WRITE');
    await owner.query(prepareSql(password));
    await owner.query('COMMIT');
  } catch (err) {
    await owner.query('ROLLBACK').catch(() => undefined);
    const message = `cannot prepare the role ${CHECK_ROLE} that checks run as on branch ${database.branchId}: ${redact(messageOf(err), secrets)}`;
    // The owner lacks the right (no CREATEROLE, or the role is another's to alter): no retry changes that.
    if ((err as { code?: unknown }).code === '42501') throw failure('CheckRoleUnsafe', message);
    throw failure('DatabaseUnreachable', message);
  } finally {
    await owner.close().catch(() => undefined);
  }

  const session = await db(readerUri, { statementTimeoutMs }).catch((err: unknown) => {
    throw unreachable(err);
  });
  try {
    const res = await session.query(UNSAFE, [ALLOWED_MEMBERSHIPS]);
    const problem = res.rows[0]?.problem;
    if (typeof problem === 'string') {
      throw failure(
        'CheckRoleUnsafe',
        `the role ${CHECK_ROLE} that checks run as ${problem}: checks run with read access only; revoke it or drop the role`,
      );
    }
  } catch (err) {
    await session.close().catch(() => undefined);
    throw err;
  }
  return { session, secrets };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
