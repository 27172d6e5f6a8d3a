/**
 * The optional `notify` field of every mutating workflow's input, and the payload a notification carries. zod only, so
 * the workflows, the client and the notify activity share one definition (zod/mini, see ../shared/zod).
 */
import { z } from '../../shared/zod';
import type { ForkWritesHandling } from './definitions';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The webhook of one run. https, or http to a loopback address only (a receiver on the worker's own machine): the
 * payload is signed, not encrypted. No user:password in the URL: the input is kept in the run's history for anyone
 * who can read it, so a URL that carries a credential belongs in the worker's NEON_PROMOTE_WEBHOOK_URL instead.
 */
export const webhookUrl = z.string().check(
  z.maxLength(2000),
  z.superRefine((url: string, ctx) => {
    const problem = urlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

function urlProblem(url: string): string | null {
  if (!URL.canParse(url)) return 'expected an absolute URL';
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname)))
    return 'expected an https URL (http only to localhost)';
  if (parsed.username || parsed.password)
    return 'must not carry a user or password (set NEON_PROMOTE_WEBHOOK_URL on the worker instead)';
  return null;
}

export const notifyOptions = z.object({ url: webhookUrl });

export type NotifyOptions = z.input<typeof notifyOptions>;

/** The JSON body POSTed to the webhook at the end of every run. Holds no secret, connection string or password. */
export type RunFinishedPayload = {
  event: 'run.finished';
  /** Unique per notification and stable across its retries: receivers use it to drop duplicates. */
  deliveryId: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  projectId: string | null;
  /** The run's outcome (promoted, rolled_back, aborted, refreshed, ...), or failed / cancelled. */
  outcome: string;
  reason: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  steps: { name: string; status: string; startedAt: string; endedAt: string | null; durationMs: number | null }[];
  /** Prod's writes since dev was forked, as a promotion counted them; null for a run that did not count them. */
  prodWrites: ProdWritesPayload | null;
  /** One line for a chat message. */
  summary: string;
};

/**
 * Prod's writes since the fork, per table, with what the run did with them (carry, discard, or unhandled: the run
 * stopped before the swap, or a dry run would). Table names and counts only: a row's key values are prod's data.
 */
export type ProdWritesPayload = {
  /** When the fork point was taken; null: none was known. */
  forkPointAt: string | null;
  rowsChanged: number;
  tables: { table: string; inserts: number; updates: number; deletes: number; handling: ForkWritesHandling }[];
  tablesAdded: { table: string; handling: ForkWritesHandling }[];
  tablesDropped: { table: string; handling: ForkWritesHandling }[];
};

/** Where a notification goes: the run's own URL, or the worker's NEON_PROMOTE_WEBHOOK_URL (never in history). */
export type NotifyTarget = { url: string } | { worker: true };
