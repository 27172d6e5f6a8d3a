import { createHash } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import type { ClusterTarget } from './cluster';
import type { Namespace } from './namespace';

/**
 * Frees a physical database of client sessions for a copy without ending them (implemented by the proxy): `resume`
 * gives them back their connection. Sessions it could not keep are counted in the report.
 */
export type Quiesce = (physical: string) => Promise<{
  report: { parked: number; terminated: number; reasons: string[]; pids: number[] };
  resume: () => Promise<void>;
}>;

/** What the last copy cost its source's client sessions. */
export type CopyReport = {
  /** How long the source had no backend sessions (parked sessions waited this long for an answer). */
  heldMs: number;
  parked: number;
  /** Sessions ended: proxy sessions that could not be parked, and direct backend sessions. */
  terminated: number;
  reasons: string[];
};

const q = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;

/**
 * The physical side of branches: one Postgres database per branch database and per snapshot. Copies use
 * CREATE DATABASE ... TEMPLATE, which needs the template free of sessions: the proxy parks them meanwhile. Methods take
 * the state's names (API role names, unprefixed physical names); `ns` gives the server's.
 */
export class DataPlane {
  private readonly pool: Pool;
  /** Databases being created right now: not yet in the state, but not garbage either. */
  readonly inflight = new Set<string>();
  /** What the last copy cost its source's sessions. */
  lastCopy?: CopyReport;

  constructor(
    readonly target: ClusterTarget,
    private readonly secret: string,
    private readonly quiesce: Quiesce,
    readonly ns: Namespace,
  ) {
    this.pool = new Pool({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database ?? 'postgres',
      max: 4,
    });
    this.pool.on('error', () => undefined);
  }

  /** Backend password of an emulated role (only used when the backend asks for one, i.e. with pgUrl). */
  rolePassword(role: string): string {
    return createHash('sha256').update(`${this.secret}:${role}`).digest('hex').slice(0, 32);
  }

  /**
   * A role made through the API, with CREATEROLE and BYPASSRLS as at Neon ("Manage roles": roles created in the
   * Console, CLI or API are members of neon_superuser, which has CREATEROLE and BYPASSRLS), so the owner can make roles
   * with SQL and give them BYPASSRLS. The rest of neon_superuser's rights are not given (see the README).
   */
  async ensureRole(role: string): Promise<void> {
    const pw = this.rolePassword(role).replace(/'/g, "''");
    const name = this.ns.role(role);
    const ensure = () =>
      this.pool.query(
        `DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(name)}) THEN CREATE ROLE ${q(name)} LOGIN CREATEROLE BYPASSRLS PASSWORD '${pw}';
         ELSE ALTER ROLE ${q(name)} LOGIN CREATEROLE BYPASSRLS PASSWORD '${pw}'; END IF; END $$`,
      );
    try {
      await ensure();
    } catch (err) {
      // Two projects created at once both saw no role and both created it: the loser's second look finds it.
      const code = (err as { code?: string }).code;
      if (code !== '23505' && code !== '42710') throw err;
      await ensure();
    }
  }

  async createEmpty(physical: string, owner: string): Promise<void> {
    this.inflight.add(physical);
    try {
      await this.pool.query(
        `CREATE DATABASE ${q(this.ns.database(physical))} OWNER ${q(this.ns.role(owner))} TEMPLATE template0`,
      );
    } finally {
      this.inflight.delete(physical);
    }
  }

  /** Copies `from` into a new database `to`, its client sessions parked meanwhile (see Quiesce). */
  async copy(from: string, to: string, owner: string): Promise<void> {
    this.inflight.add(to);
    let c: PoolClient | undefined;
    let direct = 0;
    // FILE_COPY checkpoints before it copies; flushing dirty pages first keeps that out of the time sessions wait.
    await this.pool.query('CHECKPOINT').catch(() => undefined);
    const held = await this.quiesce(from);
    const started = performance.now();
    try {
      c = await this.pool.connect();
      for (let attempt = 0; ; attempt++) {
        // Sessions that did not come through the proxy (an introspection client, or someone on --pg-url directly).
        // Backends of sessions that just ended (or that the proxy terminated) may still be exiting: give them a
        // few milliseconds rather than count them as sessions this copy ended.
        await c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [held.report.pids]);
        direct += await this.endStragglers(c, this.ns.database(from));
        try {
          const [source, target, role] = [this.ns.database(from), this.ns.database(to), this.ns.role(owner)];
          await c.query(`CREATE DATABASE ${q(target)} TEMPLATE ${q(source)} OWNER ${q(role)} STRATEGY FILE_COPY`);
          await copySettings(c, source, target);
          break;
        } catch (err) {
          // 55006: a session slipped in between terminate and copy; terminate again.
          if ((err as { code?: string }).code !== '55006' || attempt >= 3) throw err;
        }
      }
    } finally {
      c?.release();
      const heldMs = performance.now() - started;
      await held.resume();
      const { parked, terminated, reasons } = held.report;
      this.lastCopy = { heldMs, parked, terminated: terminated + direct, reasons };
      this.inflight.delete(to);
    }
  }

  /** Terminates backends still on `db` after a short grace period; returns how many. */
  private async endStragglers(c: PoolClient, db: string): Promise<number> {
    const sql = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;
    for (let i = 0; i < 6; i++) {
      if (!(await c.query(sql, [db])).rowCount) return 0;
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await c.query(`SELECT pg_terminate_backend(pid) FROM (${sql}) x`, [db]);
    return r.rowCount ?? 0;
  }

  async drop(physical: string): Promise<void> {
    await this.pool.query(`DROP DATABASE IF EXISTS ${q(this.ns.database(physical))} WITH (FORCE)`);
  }

  async sizeBytes(physical: string): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT pg_database_size($1)::text AS n', [
      this.ns.database(physical),
    ]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Drops this emulator's databases the state no longer refers to (left by a crash mid-copy, or by a rolled-back
   * mutation); `keep` holds state names, the result server names. Only the namespace's garbage prefix is looked at.
   */
  async gc(keep: Set<string>): Promise<string[]> {
    const prefix = this.ns.garbagePrefix();
    if (!prefix) return [];
    const r = await this.pool.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [prefix],
    );
    const own = new Set([...keep, ...this.inflight].map((n) => this.ns.database(n)));
    const garbage = r.rows.map((x) => x.datname).filter((n) => !own.has(n));
    for (const n of garbage) await this.pool.query(`DROP DATABASE IF EXISTS ${q(n)} WITH (FORCE)`);
    return garbage;
  }

  /**
   * Drops every database and role of this emulator's namespace on a shared server: for an emulator whose state goes
   * with it (a temp data dir), after which nothing could reach them. Does nothing without a tag of its own.
   */
  async dropNamespace(): Promise<void> {
    if (!this.ns.shared || !this.ns.tag) return;
    const prefix = this.ns.garbagePrefix()!;
    await this.gc(new Set());
    const r = await this.pool.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)',
      [prefix],
    );
    for (const { rolname } of r.rows) await this.pool.query(`DROP ROLE IF EXISTS ${q(rolname)}`);
  }

  /** A short-lived client on one physical database (schema introspection, seeding). */
  async withDatabase<T>(physical: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const pool = new Pool({ ...this.pool.options, database: this.ns.database(physical), max: 1 });
    // A copy of this database ends its direct sessions: the running query fails, and the 'error' event the driver
    // also emits must not crash the emulator's process.
    pool.on('error', () => undefined);
    const c = await pool.connect();
    c.on('error', () => undefined);
    try {
      return await fn(c);
    } finally {
      c.release();
      await pool.end();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * A database's own settings (`ALTER DATABASE ... SET`, and `ALTER ROLE ... IN DATABASE ... SET`) live in the shared
 * catalog pg_db_role_setting, which a TEMPLATE copy leaves behind. Neon's branches, snapshots and restores copy the
 * whole cluster's storage, settings included, so the copy gets the source's rows as they are (the stored form, which
 * re-parsing through ALTER DATABASE could change, e.g. list values such as search_path).
 */
async function copySettings(c: PoolClient, source: string, target: string): Promise<void> {
  await c.query(
    `INSERT INTO pg_db_role_setting (setdatabase, setrole, setconfig)
     SELECT (SELECT oid FROM pg_database WHERE datname = $2), setrole, setconfig FROM pg_db_role_setting
     WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = $1)`,
    [source, target],
  );
}
