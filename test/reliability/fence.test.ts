/**
 * The write fence does not outlive its run: a promotion terminated while its fence is up (no compensation runs) leaves
 * prod read-only only until its project's coordinator sees it ended and lifts the fence, within the fence's bound.
 */
import { takesWrites, workerHoldingRollbackSnapshot } from '../support/fence';
import { until } from '../support/polling';
import { projectWithWrites } from '../support/prod-writes';
import { noteSecrets, record, section } from '../support/reliability';
import { runWatch, type Stack, startStack } from '../support/workflow-stack';

/** The fence's bound in this test: prod must take writes again within it. */
const BOUND_MS = 120_000;

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
  await noteSecrets(s.emu);
});
afterAll(async () => s?.stop());

const { coordinatorState } = runWatch(() => s);

test(
  'a promotion terminated while its fence is up: prod takes writes again within the bound',
  () =>
    section(
      __filename,
      { section: 'fence', tried: 'a promotion terminated while its write fence was up (its rollback snapshot held)' },
      async () => {
        const p = await projectWithWrites(s);
        // The rollback snapshot, taken under the fence, waits until the run is gone (the activity is then cancelled).
        const { worker, held } = await workerHoldingRollbackSnapshot(s);
        await worker.runUntil(async () => {
          const run = await s.client.startPromotion({ projectId: p.projectId, fenceTimeout: BOUND_MS });
          await held.reached;
          expect(await takesWrites(p.connectionUri)).toBe(false);
          const terminated = Date.now();
          await run.handle.terminate('reliability: terminated while its fence is up');
          await until('prod to take writes again', () => takesWrites(p.connectionUri), Boolean, {
            timeoutMs: BOUND_MS,
          });
          const after = Math.round((Date.now() - terminated) / 1000);
          await until(
            'the coordinator to be idle',
            () => coordinatorState(p.projectId),
            (state) => !state.active,
          );
          record(__filename, {
            section: 'fence',
            tried: 'a promotion terminated while its write fence was up (no compensation ran)',
            count: 1,
            held: `prod took writes again ${after} s after the termination (bound ${BOUND_MS / 1000} s): lifted by the project's coordinator`,
            ok: true,
          });
        });
      },
    ),
  300_000,
);
