import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { Client } from 'pg';
import type { ClusterTarget } from './cluster';

/**
 * Whether `password` logs in `role`, a role made with SQL (not through the API): judged as Postgres's password
 * authentication judges it, from pg_authid (LOGIN, not past VALID UNTIL, the password's SCRAM or MD5 secret). The
 * proxy asks because the embedded cluster trusts its private socket and would let any password in. Neon lets such
 * roles connect ("Manage roles with SQL", "Manage database access": `CREATE ROLE ... WITH LOGIN PASSWORD`, then
 * `psql postgres://readonly_user1:...@ep-.../dbname`). The password is compared as given: Postgres would first apply
 * SASLprep, which changes only some non-ASCII passwords (those are refused here: stricter, not more lenient).
 */
export async function sqlRoleLogin(target: ClusterTarget, role: string, password: string): Promise<boolean> {
  const c = new Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database ?? 'postgres',
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ login: boolean; secret: string | null; expired: boolean }>(
      `SELECT rolcanlogin AS login, rolpassword AS secret, coalesce(rolvaliduntil < now(), false) AS expired
       FROM pg_authid WHERE rolname = $1`,
      [role],
    );
    const row = r.rows[0];
    return !!row && row.login && !row.expired && row.secret !== null && matches(row.secret, role, password);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Checks a password against a pg_authid secret: SCRAM-SHA-256 (its StoredKey) or MD5. */
export function matches(secret: string, role: string, password: string): boolean {
  const scram = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(secret);
  if (scram) {
    const [, iterations, salt, storedKey] = scram;
    const salted = pbkdf2Sync(password, Buffer.from(salt!, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    return same(createHash('sha256').update(clientKey).digest(), Buffer.from(storedKey!, 'base64'));
  }
  if (/^md5[0-9a-f]{32}$/.test(secret)) {
    const expected = `md5${createHash('md5')
      .update(password + role)
      .digest('hex')}`;
    return same(Buffer.from(expected), Buffer.from(secret));
  }
  return false;
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
