/**
 * The writer process (run by test/support/writer.ts): inserts one row into prod every few milliseconds through a
 * connection string, as an application would, and prints `ok <id>` for every insert whose COMMIT was acknowledged.
 * A failed insert is never retried with the same id: an unacknowledged commit may or may not have happened, and only
 * acknowledged ids are promised to be present. Read-only errors (a fence) and dropped connections make it reconnect,
 * since a session that started read-only stays so.
 *
 * Environment: WRITER_URI (the secret stays out of argv), WRITER_TABLE, WRITER_INTERVAL_MS, WRITER_FIRST_ID.
 */
import pg from 'pg';

const uri = process.env.WRITER_URI ?? '';
const table = process.env.WRITER_TABLE ?? 'writes';
const intervalMs = Number(process.env.WRITER_INTERVAL_MS ?? 5);
let nextId = Number(process.env.WRITER_FIRST_ID ?? 1);
let stopping = false;
process.on('SIGTERM', () => (stopping = true));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stdout.write(`${line}\n`);

async function connect(): Promise<pg.Client | undefined> {
  const c = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 5_000, application_name: 'test-writer' });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return c;
  } catch (err) {
    say(`err ${(err as { code?: string }).code ?? 'connect'}`);
    await c.end().catch(() => undefined);
    return undefined;
  }
}

async function main(): Promise<void> {
  let client: pg.Client | undefined;
  while (!stopping) {
    client ??= await connect();
    if (!client) {
      await sleep(20);
      continue;
    }
    const id = nextId++;
    try {
      await client.query(`INSERT INTO ${table} (id, note) VALUES ($1, $2)`, [id, `writer ${process.pid}`]);
      say(`ok ${id}`);
    } catch (err) {
      say(`err ${(err as { code?: string }).code ?? 'dropped'}`);
      await client.end().catch(() => undefined);
      client = undefined;
    }
    await sleep(intervalMs);
  }
  await client?.end().catch(() => undefined);
  say('done');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(`fatal ${String(err)}`);
    process.exit(1);
  },
);
