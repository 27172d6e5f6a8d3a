/**
 * One measured call of bench/carry.ts, in a process of its own so that nothing else's memory counts: reads the job
 * from CARRY_JOB, runs it, and prints `CARRY_RESULT=<json>` with its wall time and the process's memory, sampled with
 * process.memoryUsage() every 50 ms from just before the call to just after it. A `live` job collects garbage before
 * each sample instead (every 250 ms: a full collection of a large heap takes a while), so its heap figures are what
 * the call holds; its wall time is not the call's.
 */
import { Client } from 'pg';
import { createActivities } from '../../src/activities';
import { SAME_RENDERING } from '../../src/activities/database/writes/reconcile-sql';
import { createNeonClient } from '../../src/neon';

export type CarryJob = (
  | { kind: 'diffSinceFork' | 'reconcileLateWrites'; baseUrl: string; apiKey: string; input: unknown }
  | { kind: 'fullMaps'; table: string; baseUri: string; sourceUri: string }
) & {
  /** Collect garbage before each sample, so the heap figures are what the call holds, not what V8 has yet to free. */
  live?: boolean;
};

export type CarryMeasure = {
  kind: CarryJob['kind'];
  wallMs: number;
  rssBeforeMb: number;
  peakRssMb: number;
  heapBeforeMb: number;
  peakHeapMb: number;
  /** What the call found, to check the three agree. */
  found: Record<string, unknown>;
};

/**
 * How reconciliation read both sides before it streamed them: every row's key and hash of the base, then of the
 * source, in Maps; the keys that differ are the changes.
 */
async function fullMaps(job: Extract<CarryJob, { kind: 'fullMaps' }>): Promise<Record<string, unknown>> {
  const read = async (uri: string) => {
    const client = new Client({ connectionString: uri });
    await client.connect();
    try {
      await client.query(SAME_RENDERING);
      const { rows } = await client.query<{ k: string; h: string }>(
        `SELECT jsonb_build_object('id', t.id)::text AS k, md5(to_jsonb(t)::text) AS h FROM ${job.table} t`,
      );
      return new Map(rows.map((row) => [row.k, row.h]));
    } finally {
      await client.end();
    }
  };
  const base = await read(job.baseUri);
  const source = await read(job.sourceUri);
  let changed = 0;
  for (const [key, hash] of source) if (base.get(key) !== hash) changed++;
  for (const key of base.keys()) if (!source.has(key)) changed++;
  return { rowsChanged: changed, keysHeld: base.size + source.size };
}

/** The call to measure, set up (clients built) before the measurement starts. */
function prepare(job: CarryJob): () => Promise<Record<string, unknown>> {
  if (job.kind === 'fullMaps') return () => fullMaps(job);
  const activities = createActivities({ neon: createNeonClient({ baseUrl: job.baseUrl, apiKey: job.apiKey }) });
  if (job.kind === 'diffSinceFork')
    return async () => {
      const diff = await activities.diffSinceFork(job.input as Parameters<typeof activities.diffSinceFork>[0]);
      return { rowsChanged: diff.rowsChanged, tables: diff.tables };
    };
  return async () => {
    const input = job.input as Parameters<typeof activities.reconcileLateWrites>[0];
    return { tables: (await activities.reconcileLateWrites(input)).tables };
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.CARRY_JOB ?? '{}') as CarryJob;
  const call = prepare(job);
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const gc = job.live ? (globalThis as { gc?: () => void }).gc : undefined;
  if (job.live && !gc) throw new Error('a live measure needs node --expose-gc');
  const sample = () => {
    gc?.();
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  };
  const timer = setInterval(sample, job.live ? 250 : 50);
  const started = performance.now();
  const found = await call();
  const wallMs = Math.round(performance.now() - started);
  sample();
  clearInterval(timer);
  const measure: CarryMeasure = {
    kind: job.kind,
    wallMs,
    rssBeforeMb: mb(before.rss),
    peakRssMb: mb(peakRss),
    heapBeforeMb: mb(before.heapUsed),
    peakHeapMb: mb(peakHeap),
    found,
  };
  process.stdout.write(`CARRY_RESULT=${JSON.stringify(measure)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`carry child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
