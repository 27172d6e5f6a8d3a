/**
 * Exclusion: 50 starts of mutating runs on one project at the same moment (some queue, most ask to be refused).
 * Each is queued or refused with a clear ProjectBusyError; the admitted runs never overlap, judged from the emulator's
 * request log (each request carries its run's workflow ID in its request ID) and from each run's step times.
 */
import { seedFleet } from '../../bench/lib/seed';
import { createActivities, type DbConnector } from '../../src/activities';
import { NeonPromoteClient, ProjectBusyError } from '../../src/client';
import { startEmulator } from '../../src/emulator';
import { createNeonClient, RateBudget } from '../../src/neon';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';
import { startStack, neonActivities, type Stack } from '../workflows/support';
import { FULL, noteSecrets, record, section } from './harness';
import { SCENARIOS, preparedProject } from './scenarios';

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
        const w = await createWorker({
          connection: s.t.nativeConnection,
          taskQueue: s.t.taskQueue,
          workflowBundle: s.bundle,
          activities: { ...createHealthActivities(), ...neonActivities(s.emu) },
        });
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

/** Memory-mode databases: the checks' sessions answer every query at once (the fleet is about orchestration). */
const noDatabase: DbConnector = () =>
  Promise.resolve({
    query: () => Promise.resolve({ rows: [{ '?column?': 1 }], rowCount: 1, fields: [{ name: '?column?' }] }),
    close: () => Promise.resolve(),
  });

/*
 * PRODUCT BUG (held by test.failing): the write-safety activities (recordWritePosition, fenceWrites, liftFence) connect
 * to prod themselves instead of through the injected DbConnector (ActivityDeps.db) that verifyBranch and
 * fingerprintBranch use, and write detection runs on every snapshot-strategy promotion. Against a memory-mode emulator
 * (no Postgres; the only way to run hundreds of projects on one machine, as bench/fleet.ts does) every promotion
 * therefore fails in recordWritePosition ("cannot connect to branch ...: ECONNREFUSED"). When the write activities take
 * deps.db, turn this into test() again.
 */
(FULL ? test.failing : test.skip)(
  `exclusion: ${FLEET} projects promoting at once do not wait on each other`,
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
        activities: { ...createHealthActivities(), ...createActivities({ neon, snapshotLimit: 10, db: noDatabase }) },
      });
      await w.runUntil(async () => {
        record(__filename, {
          section: 'exclusion',
          tried: `${FLEET} projects promoting at once (memory-mode emulator, 5-20 ms operations)`,
          count: 0,
          held: 'not shown: every promotion fails in recordWritePosition, which bypasses the injected DbConnector (product bug, test.failing)',
          ok: false,
        });
        const t0 = Date.now();
        const runs = await Promise.all(projects.map((projectId) => client.startPromotion({ projectId })));
        const ended = await Promise.all(
          runs.map(async (r) => ({ outcome: (await r.result()).outcome, ms: Date.now() - t0 })),
        );
        const wall = Date.now() - t0;
        const progress = await Promise.all(runs.map((r) => client.getProgress(r.workflowId)));
        // Each run's own time, first step to last: run one after another, the fleet would take their sum.
        const own = progress.map(
          (p) => Date.parse(p.steps?.at(-1)?.endedAt ?? '') - Date.parse(p.steps?.[0]?.startedAt ?? ''),
        );
        const serial = own.reduce((a, b) => a + b, 0);
        expect(ended.filter((e) => e.outcome !== 'promoted')).toEqual([]);
        // Admitted at once (position 0: no earlier run of its project), never marked queued.
        expect(runs.filter((r) => r.position !== 0).map((r) => r.workflowId)).toEqual([]);
        expect(progress.filter((p) => p.queued).length).toBe(0);
        expect(own.every(Number.isFinite)).toBe(true);
        expect(wall).toBeLessThan(serial / 10);
        record(__filename, {
          section: 'exclusion',
          tried: `${FLEET} projects promoting at once (memory-mode emulator, 5-20 ms operations), now passing`,
          count: FLEET,
          held: `all promoted; every run admitted at position 0 and never queued; ${Math.round(wall / 1000)} s in all vs ${Math.round(serial / 1000)} s of runs' own time back to back (longest ${Math.round(Math.max(...own) / 1000)} s)`,
          ok: true,
        });
      });
    } finally {
      await emu.stop();
    }
  },
  600_000,
);
