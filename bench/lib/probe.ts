/**
 * What an application sees of prod during a promotion: one connection through prod's connection string (the endpoint
 * survives the swap), `SELECT 1` every few milliseconds, and a reconnect at once whenever the connection drops. Prod
 * is "without an answer" between two answers that lie further apart than GAP_MS.
 */
import { Client } from 'pg';

/** A gap this long is an outage, not the probe's own period or a GC pause of the benchmark. */
export const GAP_MS = 50;

export type ProbeResult = {
  queries: number;
  errors: number;
  longestGapMs: number;
  /** Sum of the gaps longer than GAP_MS. */
  unansweredMs: number;
  gaps: { at: number; ms: number }[];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startProbe(connectionString: string, periodMs = 5) {
  let running = true;
  const answers: number[] = [];
  let errors = 0;
  const loop = (async () => {
    let client: Client | undefined;
    while (running) {
      try {
        if (!client) {
          client = new Client({ connectionString, connectionTimeoutMillis: 2000, query_timeout: 5000 });
          client.on('error', () => undefined); // a dropped session surfaces on the next query
          await client.connect();
        }
        await client.query('SELECT 1');
        answers.push(Date.now());
      } catch {
        errors++;
        await client?.end().catch(() => undefined);
        client = undefined;
      }
      await sleep(periodMs);
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    /** Waits for the first answer, so a promotion starts against a reachable prod. */
    async ready(): Promise<void> {
      for (let i = 0; i < 1000 && answers.length === 0; i++) await sleep(10);
      if (answers.length === 0) throw new Error('probe: prod never answered');
    },
    async stop(): Promise<ProbeResult> {
      running = false;
      await loop;
      const gaps: { at: number; ms: number }[] = [];
      let longest = 0;
      for (let i = 1; i < answers.length; i++) {
        const ms = answers[i]! - answers[i - 1]!;
        longest = Math.max(longest, ms);
        if (ms > GAP_MS) gaps.push({ at: answers[i - 1]!, ms });
      }
      return {
        queries: answers.length,
        errors,
        longestGapMs: longest,
        unansweredMs: gaps.reduce((s, g) => s + g.ms, 0),
        gaps,
      };
    },
  };
}
