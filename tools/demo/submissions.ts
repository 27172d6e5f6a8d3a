/**
 * The shop's contact form stays in use while dev is edited: visitors' submissions reach prod (new ones, one edited,
 * one withdrawn) while dev adds a column to the same table and answers a submission. A promotion replaces prod's data
 * with dev's, so the demo's promotions name the table for carrying, and the demo then checks that prod holds every
 * submission as prod acknowledged it, next to dev's change.
 */
import { Client } from 'pg';
import { query } from './neon';

/** How the app names its form's table in every promotion (reconcile.tables; the CLI's --reconcile-table submissions:id). */
export const SUBMISSIONS_TABLE = { table: 'submissions', key: ['id'] };

/** Dev's edit of the same table: a column to triage submissions, and the first submission answered. */
export const DEV_TRIAGE = `ALTER TABLE submissions ADD COLUMN answered boolean NOT NULL DEFAULT false;
                           UPDATE submissions SET answered = true WHERE id = 1`;

const NEW = 5;
const EDITED = 2;
const WITHDRAWN = 3;

/** What prod acknowledged: every submission it keeps, with its message, and the ones withdrawn. */
export type Acknowledged = { messages: Map<number, string>; withdrawn: number[] };

/** Visitors using the form on prod: each statement is acknowledged (committed) before the next. */
export async function submitForms(uri: string): Promise<Acknowledged> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    type Row = { id: number; message: string };
    const messages = new Map<number, string>();
    for (const row of (await c.query<Row>('SELECT id, message FROM submissions')).rows)
      messages.set(row.id, row.message);
    for (let i = 1; i <= NEW; i++) {
      const { rows } = await c.query<Row>(
        'INSERT INTO submissions (email, message) VALUES ($1, $2) RETURNING id, message',
        [`guest${i}@example.com`, `Do you ship to town ${i}?`],
      );
      messages.set(rows[0]!.id, rows[0]!.message);
    }
    const edited = await c.query<Row>(
      "UPDATE submissions SET message = message || ' (edited: any news?)' WHERE id = $1 RETURNING id, message",
      [EDITED],
    );
    for (const row of edited.rows) messages.set(row.id, row.message);
    const withdrawn = await c.query<Row>('DELETE FROM submissions WHERE id = $1 RETURNING id', [WITHDRAWN]);
    for (const row of withdrawn.rows) messages.delete(row.id);
    return { messages, withdrawn: withdrawn.rows.map((row) => row.id) };
  } finally {
    await c.end();
  }
}

export const describeSubmitted = (a: Acknowledged): string =>
  `prod acknowledged ${NEW} new, 1 edited, ${a.withdrawn.length} withdrawn (${a.messages.size} kept)`;

export type SubmissionsSeen = {
  /** Acknowledged submissions prod lacks or holds with another message. */
  missing: number;
  /** Withdrawn submissions back on prod. */
  resurrected: number;
  /** Dev's change in the same table: its column, with the submission dev answered. */
  devAnswered: boolean;
};

export async function checkSubmissions(uri: string, acknowledged: Acknowledged): Promise<SubmissionsSeen> {
  // Through jsonb, so a prod without dev's column reads it as null instead of failing.
  const rows = await query<{ id: number; message: string; answered: boolean | null }>(
    uri,
    `SELECT id, message, (to_jsonb(s) ->> 'answered')::boolean AS answered FROM submissions s`,
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return {
    missing: [...acknowledged.messages].filter(([id, message]) => byId.get(id)?.message !== message).length,
    resurrected: acknowledged.withdrawn.filter((id) => byId.has(id)).length,
    devAnswered: byId.get(1)?.answered === true,
  };
}
