/**
 * Exclusion: 50 starts of mutating runs on one project at the same moment (some queue, most ask to be refused).
 * Each is queued or refused with a clear ProjectBusyError; the admitted runs never overlap, judged from the emulator's
 * request log (each request carries its run's workflow ID in its request ID) and from each run's step times.
 */
import { seedFleet } from '../../bench/lib/seed';
import { createActivities, type DbConnector } from '../../src/activities';
import { NeonPromoteClient, ProjectBusyError } from '../../src/client';
import { startEmulator } from '../../tools/emulator';
import { createNeonClient, RateBudget } from '../../src/neon';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';
import { FULL, noteSecrets, record, section } from '../support/reliability';
import { type Stack, startStack } from '../support/workflow-stack';
import { SCENARIOS, preparedProject } from '../support/reliability-scenarios';

const FLEET = FULL ? 200 : 20;
const UNBOUNDED = { perMinute: 1_000_000, perSecondPerRoute: 100_000 };

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
  await noteSecrets(s.emu);
});
afterAll(async () => s?.stop());

test(
  'exclusion: 50 starts at once on one project, never two at once, each queued or refused',
  () =>
    section(
      __filename,
      { section: 'exclusion', tried: '50 starts of promote/refresh on one project at one moment' },
      async () => {
        const { p, client } = await preparedProject(s, s.t.taskQueue, SCENARIOS.promote);
        const queued = FULL ? 8 : 4;
        const w = await s.worker();
        await w.runUntil(async () => {
          const from = s.emu.requestLog().length;
          const starts = Array.from({ length: 50 }, (_, i) => {
            const ifBusy = i % Math.floor(50 / queued) === 0 ? ('queue' as const) : ('refuse' as const);
            const start =
              i % 2 === 0
                ? client.startPromotion(
                    { projectId: p.projectId, checks: [{ kind: 'tablesExist', tables: ['items'] }] },
                    { ifBusy },
                  )
                : client.startRefresh({ projectId: p.projectId, force: true }, { ifBusy });
            return start.then(
              (run) => ({ ifBusy, run, err: null }),
              (err: unknown) => ({ ifBusy, run: null, err }),
            );
          });
          const admitted = await Promise.all(starts);
          const refused = admitted.filter((a) => a.err);
          for (const r of refused) {
            expect(r.ifBusy).toBe('refuse');
            expect(r.err).toBeInstanceOf(ProjectBusyError);
            expect((r.err as Error).message).toMatch(new RegExp(p.projectId));
          }
          const runs = admitted.filter((a) => a.run).map((a) => a.run!);
          // Every queued start was admitted; the admitted runs all finish.
          expect(admitted.filter((a) => a.ifBusy === 'queue' && a.err)).toEqual([]);
          await Promise.all(runs.map((r) => r.result()));
          // Never two at once: per run, the span of its Neon requests (request IDs name the run); spans must not overlap.
          const log = s.emu.requestLog().slice(from);
          const spans = runs
            .map((r) => {
              const mine = log.filter((e) => e.requestId.includes(r.workflowId));
              return { id: r.workflowId, from: Date.parse(mine[0]?.at ?? ''), to: Date.parse(mine.at(-1)?.at ?? '') };
            })
            .sort((a, b) => a.from - b.from);
          expect(spans.every((x) => Number.isFinite(x.from))).toBe(true);
          for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBeGreaterThanOrEqual(spans[i - 1]!.to);
          // And from the runs' own step times.
          const steps = (
            await Promise.all(runs.map(async (r) => (await client.getProgress(r.workflowId)).steps ?? []))
          ).map((ss) => ({ from: Date.parse(ss[0]?.startedAt ?? ''), to: Date.parse(ss.at(-1)?.endedAt ?? '') }));
          steps.sort((a, b) => a.from - b.from);
          for (let i = 1; i < steps.length; i++) expect(steps[i]!.from).toBeGreaterThanOrEqual(steps[i - 1]!.to);
          record(__filename, {
            section: 'exclusion',
            tried: `50 starts of promote/refresh on one project at one moment (${admitted.filter((a) => a.ifBusy === 'queue').length} queue, the rest refuse)`,
            count: 50,
            held: `${runs.length} admitted and run one at a time (request-log spans and step times never overlap), ${refused.length} refused with ProjectBusyError naming the project`,
            ok: true,
          });
        });
      },
    ),
  600_000,
);

/**
 * Memory-mode emulators have no Postgres behind their endpoints (the only way to run hundreds of projects on one
 * machine, as bench/fleet.ts does), so every session the activities open goes through this injected connector and
 * answers at once as a quiet prod would: no writes, no other sessions, the fence's setting kept per database.
 * The write-safety activities (recordWritePosition, fenceWrites, liftFence) must use it too: a run that opened its own
 * pg session would fail with ECONNREFUSED.
 */
const fenced = new Set<string>();
const sessions = { opened: 0, write: 0 };
const quietDatabase: DbConnector = (uri, { mode }) => {
  sessions.opened++;
  if (mode === 'write') sessions.write++;
  const rows = (sql: string): Record<string, unknown>[] => {
    if (sql.includes('pg_current_wal_lsn()')) return [{ lsn: '0/0', at: new Date(), others: 0, ro: fenced.has(uri) }];
    if (sql.includes('pg_stat_user_tables') || sql.includes('pg_stat_activity a') || sql.includes('FROM pg_class c'))
      return [];
    if (sql.includes('default_transaction_read_only = on') && sql.startsWith('DO ')) fenced.add(uri);
    if (sql.includes('RESET default_transaction_read_only')) fenced.delete(uri);
    if (sql.includes("split_part(c, '=', 1) = 'default_transaction_read_only'")) return [{ ro: fenced.has(uri) }];
    if (sql.startsWith('SELECT clock_timestamp() AS at')) return [{ at: new Date() }];
    if (/^(SET|BEGIN|ROLLBACK|COMMIT|DO )/.test(sql)) return [];
    return [{ '?column?': 1 }];
  };
  return Promise.resolve({
    query: (sql: string) => {
      const r = rows(sql.trim());
      return Promise.resolve({
        rows: r,
        rowCount: r.length,
        fields: Object.keys(r[0] ?? {}).map((name) => ({ name })),
      });
    },
    close: () => Promise.resolve(),
  });
};

/** The most runs in flight at one instant, from each run's first step start and last step end. */
function peakInFlight(spans: { from: number; to: number }[]): number {
  const edges = spans.flatMap((x) => [
    { t: x.from, d: 1 },
    { t: x.to, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

test(
  `exclusion: ${FLEET} projects promoting at once do not wait on each other`,
  () =>
    section(
      __filename,
      { section: 'exclusion', tried: `${FLEET} projects promoting at once (memory-mode emulator, 5-20 ms operations)` },
      async () => {
        const emu = await startEmulator({ port: 0, mode: 'memory', operationDelayMs: { min: 5, max: 20 } });
        try {
          const projects = await seedFleet({ baseUrl: emu.baseUrl, apiKey: emu.apiKey, adminUrl: '' }, FLEET, 'fleet');
          const taskQueue = `${s.t.taskQueue}-fleet`;
          const client = await NeonPromoteClient.connect({ client: s.t.client, taskQueue });
          const neon = createNeonClient({
            baseUrl: emu.baseUrl,
            apiKey: emu.apiKey,
            rateBudget: new RateBudget(UNBOUNDED),
          });
          const w = await createWorker({
            connection: s.t.nativeConnection,
            taskQueue,
            workflowBundle: s.bundle,
            activities: {
              ...createHealthActivities(),
              ...createActivities({ neon, snapshotLimit: 10, db: quietDatabase }),
            },
          });
          await w.runUntil(async () => {
            // The fleet's dev was made without neon-promote, so no fork point is known and prod's writes since the fork
            // cannot be counted (nor could the quiet connector answer the count): they are let go on purpose.
            const runs = await Promise.all(
              projects.map((projectId) => client.startPromotion({ projectId, discardProdWrites: ['*'] })),
            );
            const ended = await Promise.all(runs.map(async (r) => (await r.result()).outcome));
            const progress = await Promise.all(runs.map((r) => client.getProgress(r.workflowId)));
            // Each run's span, first step start to last step end.
            const spans = progress.map((p) => ({
              from: Date.parse(p.steps?.[0]?.startedAt ?? ''),
              to: Date.parse(p.steps?.at(-1)?.endedAt ?? ''),
            }));
            expect(ended.filter((o) => o !== 'promoted')).toEqual([]);
            // Admitted at once (position 0: no earlier run of its project), never marked queued.
            expect(runs.filter((r) => r.position !== 0).map((r) => r.workflowId)).toEqual([]);
            expect(progress.filter((p) => p.queued).length).toBe(0);
            expect(spans.every((x) => Number.isFinite(x.from) && Number.isFinite(x.to))).toBe(true);
            // The write fence went up and came down on every prod, through the injected connector.
            expect(sessions.write).toBeGreaterThanOrEqual(FLEET * 3);
            expect(fenced.size).toBe(0);
            // Not waiting on each other: at some instant most of the fleet was in flight (one at a time would be 1).
            const peak = peakInFlight(spans);
            expect(peak).toBeGreaterThanOrEqual(FLEET / 2);
            record(__filename, {
              section: 'exclusion',
              tried: `${FLEET} projects promoting at once (memory-mode emulator, 5-20 ms operations)`,
              count: FLEET,
              held: `all promoted; every run admitted at position 0 and never queued; up to ${peak} of ${FLEET} in flight at one instant; ${sessions.write} write sessions (fence, lift, write positions) through the injected connector, no fence left up`,
              ok: true,
            });
          });
        } finally {
          await emu.stop();
        }
      },
    ),
  600_000,
);
