/**
 * Exclusion: 50 starts of mutating runs on one project at the same moment (some queue, most ask to be refused).
 * Each is queued or refused with a clear ProjectBusyError; the admitted runs never overlap, judged from the emulator's
 * request log (each request carries its run's workflow ID in its request ID) and from each run's step times.
 */
import { ProjectBusyError } from '../../src/client';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';
import { startStack, neonActivities, type Stack } from '../workflows/support';
import { FULL, noteSecrets, record } from './harness';
import { SCENARIOS, preparedProject } from './scenarios';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
  await noteSecrets(s.emu);
});
afterAll(async () => s?.stop());

test('exclusion: 50 starts at once on one project, never two at once, each queued or refused', async () => {
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
    const steps = (await Promise.all(runs.map(async (r) => (await client.getProgress(r.workflowId)).steps ?? []))).map(
      (ss) => ({ from: Date.parse(ss[0]?.startedAt ?? ''), to: Date.parse(ss.at(-1)?.endedAt ?? '') }),
    );
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
}, 600_000);
