import type { Relay, SessionState } from './relay';
import { cstr, frame } from './wire';

const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * What a session changed about itself, read from the catalogs of its own backend: settings it SET (whatever way), and
 * prepared statements (SQL PREPARE and protocol-level Parse alike). State that cannot be carried to another backend
 * (LISTEN, advisory locks, holdable cursors, temporary tables) makes the session unmovable.
 */
const CAPTURE = `SELECT
  (SELECT coalesce(json_agg(json_build_array(name, current_setting(name))), '[]')
     FROM pg_settings WHERE source = 'session' AND name NOT LIKE 'transaction\\_%')::text,
  (SELECT coalesce(json_agg(json_build_array(name, statement, array_to_json(parameter_types::oid[]), from_sql)), '[]')
     FROM pg_prepared_statements)::text,
  concat_ws(', ',
    CASE WHEN EXISTS (SELECT FROM pg_listening_channels()) THEN 'LISTEN' END,
    CASE WHEN EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) THEN 'advisory locks' END,
    CASE WHEN EXISTS (SELECT FROM pg_cursors WHERE is_holdable) THEN 'holdable cursors' END,
    CASE WHEN EXISTS (SELECT FROM pg_class WHERE relnamespace = pg_my_temp_schema()) THEN 'temporary tables' END)`;

/** Reads a parked session's state; a string says why the session cannot be moved. */
export async function captureState(relay: Relay): Promise<SessionState | string> {
  const r = await relay.query(CAPTURE);
  if (r.error || !r.rows[0]) return `state not readable: ${r.error ?? 'no row'}`;
  const [settings, prepared, unmovable] = r.rows[0] as [string, string, string];
  if (unmovable) return `session holds ${unmovable}`;
  const state: SessionState = { settings: JSON.parse(settings) as [string, string][], prepared: [] };
  for (const [name, sql, types, fromSql] of JSON.parse(prepared) as [string, string, number[], boolean][]) {
    if (!fromSql) {
      state.prepared.push({ name, sql, types });
      continue;
    }
    // pg_prepared_statements keeps the whole query string that held the PREPARE: replay it only when it is just
    // that PREPARE (a string that also ran other commands must not run them again).
    const text = sql.trim().replace(/;\s*$/, '');
    if (!/^prepare\s/i.test(text) || text.includes(';')) return 'session has a PREPARE that cannot be replayed alone';
    state.prepared.push({ name, sql: text, types: [], fromSql: true });
  }
  return state;
}

/** Puts captured state on a parked session's new backend; returns an error message if any of it fails. */
export async function restoreState(relay: Relay, s: SessionState): Promise<string | undefined> {
  // role and session_authorization last: other settings may need the privileges the session had before switching.
  const last = new Set(['role', 'session_authorization']);
  const settings = [...s.settings.filter(([n]) => !last.has(n)), ...s.settings.filter(([n]) => last.has(n))];
  // Each PREPARE goes alone, so that the statement's text on the new backend is again just that PREPARE.
  const statements = [
    ...(settings.length
      ? [settings.map(([n, v]) => `SELECT set_config(${literal(n)}, ${literal(v)}, false)`).join('; ')]
      : []),
    ...s.prepared.filter((p) => p.fromSql).map((p) => p.sql),
  ];
  for (const sql of statements) {
    const r = await relay.query(sql);
    if (r.error) return r.error;
  }
  const parses = s.prepared.filter((p) => !p.fromSql);
  if (!parses.length) return undefined;
  const msgs = parses.map((p) => {
    const n = Buffer.alloc(2);
    n.writeInt16BE(p.types.length);
    return frame('P', cstr(p.name), cstr(p.sql), n, ...p.types.map(uint32));
  });
  const r = await relay.exchange(Buffer.concat([...msgs, frame('S')]));
  return r.error;
}
