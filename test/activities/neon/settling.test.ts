import { MockActivityEnvironment } from '@temporalio/testing';
import { SENDS_AFTER_FAILED_OPERATION, settling, SettleTimes } from '../../../src/activities/neon/operations';
import type { NeonClient, NeonOperation } from '../../../src/neon';
import { type Harness, startHarness, total } from '../../support/activity-harness';

/** Time that moves only when the code under test sleeps, so durations are exact. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

/** A fake Neon whose operations finish `durationMs` after the mutation (on the fake clock). */
function fakeNeon(clock: ReturnType<typeof fakeClock>, durationMs: number, polledAt: number[] = []) {
  const neon = {
    getOperation: (_projectId: string, id: string) => {
      polledAt.push(clock.now());
      const status = clock.now() >= durationMs ? 'finished' : 'running';
      return Promise.resolve({ id, action: 'create_timeline', status } as NeonOperation);
    },
  };
  return { neon: neon as unknown as NeonClient, polledAt };
}

describe('SettleTimes', () => {
  it('starts at 0, jumps to when work was seen done after a miss, lowers by 5% after a hit, capped', () => {
    const t = new SettleTimes(1000);
    expect(t.firstDelayMs('ensureSnapshot')).toBe(0);
    t.record('ensureSnapshot', false, 180);
    expect(t.firstDelayMs('ensureSnapshot')).toBe(180);
    t.record('ensureSnapshot', true, 180);
    expect(t.firstDelayMs('ensureSnapshot')).toBe(171);
    t.record('deleteSnapshot', false, 60_000);
    expect(t.firstDelayMs('deleteSnapshot')).toBe(1000);
  });

  it('starts a kind not timed yet from the shortest estimate of those that are', () => {
    const t = new SettleTimes();
    t.record('ensureSnapshot', false, 400);
    t.record('restoreSnapshot', false, 250);
    expect(t.firstDelayMs('createEndpoint')).toBe(250);
    // A hit lowers from where the kind started.
    t.record('createEndpoint', true, 250);
    expect(t.firstDelayMs('createEndpoint')).toBe(238);
  });

  it('after a hit, drops at once to a little over the duration Neon reported when that is less', () => {
    const t = new SettleTimes();
    t.record('deleteEndpoint', false, 900);
    t.record('deleteEndpoint', true, 900, 100);
    expect(t.firstDelayMs('deleteEndpoint')).toBe(120);
    // A reported duration above the estimate does not raise it: only a miss does.
    t.record('deleteEndpoint', true, 120, 500);
    expect(t.firstDelayMs('deleteEndpoint')).toBe(114);
  });
});

describe('settling', () => {
  const mutate = () => Promise.resolve({ created: true, operationIds: ['op-1'] });

  it('waits for the operations; the next wait of that kind polls first when the work is due', async () => {
    const clock = fakeClock();
    const { neon, polledAt } = fakeNeon(clock, 120);
    const times = new SettleTimes();
    const wrapped = settling('m', mutate, { neon, clock }, times);
    const env = new MockActivityEnvironment();
    const input = { projectId: 'p-1' };
    const first = await env.run(wrapped, input);
    expect(first).toEqual({ created: true, operationIds: ['op-1'] });
    // Nothing learned yet: at once, then 25 ms later growing by half; the work finishes at 120: seen done then.
    expect(polledAt).toEqual([0, 25, 63, 120]);
    expect(times.firstDelayMs('m')).toBe(120);

    // The first poll now comes when the work is due and finds it done; each such hit lowers the estimate by 5%.
    const again = () => {
      const restarted = offsetClock(clock);
      const { neon: fresh } = fakeNeon(restarted, 120, polledAt);
      return env.run(settling('m', mutate, { neon: fresh, clock: restarted }, times), input);
    };
    polledAt.length = 0;
    await again();
    expect(polledAt).toEqual([120]);
    expect(times.firstDelayMs('m')).toBe(114);
    // Once it is down near the work's 120 ms: mostly one poll, now and then a miss polled again soon after.
    for (let i = 0; i < 20; i++) await again();
    let misses = 0;
    for (let i = 0; i < 20; i++) {
      polledAt.length = 0;
      await again();
      if (polledAt.length > 1) misses++;
      expect(polledAt[polledAt.length - 1]).toBeGreaterThanOrEqual(120);
      expect(polledAt[polledAt.length - 1]).toBeLessThan(135);
    }
    expect(misses).toBeGreaterThan(0);
    expect(misses).toBeLessThanOrEqual(8);
  });

  it('a mutation that started nothing is settled without a poll', async () => {
    const clock = fakeClock();
    const { neon, polledAt } = fakeNeon(clock, 0);
    const none = () => Promise.resolve({ changed: false, operationIds: [] as string[] });
    const wrapped = settling('m', none, { neon, clock }, new SettleTimes());
    const result = await new MockActivityEnvironment().run(wrapped, { projectId: 'p-1' });
    expect(result).toEqual({ changed: false, operationIds: [] });
    expect(polledAt).toEqual([]);
  });
});

describe('a failed operation', () => {
  const neon = {
    getOperation: (_projectId: string, id: string) =>
      Promise.resolve({ id, action: 'delete_timeline', status: 'failed', error: 'disk on fire' } as NeonOperation),
  } as unknown as NeonClient;
  const failureOf = (kind: string, attempt = 1): Promise<unknown> => {
    const mutate = () => Promise.resolve({ deleted: true, operationIds: ['op-1'] });
    const wrapped = settling(kind, mutate, { neon, clock: fakeClock() }, new SettleTimes());
    return new MockActivityEnvironment({ attempt }).run(wrapped, { projectId: 'p-1' }).then(
      () => new Error('expected the mutation to fail'),
      (err: unknown) => err,
    );
  };

  it('fails a delete retryably: Neon left the resource in place, and the retry policy sends it again', async () => {
    for (const kind of ['deleteSnapshot', 'deleteBranch', 'deleteEndpoint'])
      expect(await failureOf(kind)).toMatchObject({ type: 'OperationFailed', nonRetryable: false });
  });

  it('fails a delete for good on its last send: an operation that keeps failing does not hold the run forever', async () => {
    expect(await failureOf('deleteBranch', SENDS_AFTER_FAILED_OPERATION - 1)).toMatchObject({ nonRetryable: false });
    expect(await failureOf('deleteBranch', SENDS_AFTER_FAILED_OPERATION)).toMatchObject({
      type: 'OperationFailed',
      nonRetryable: true,
    });
  });

  it('fails any other mutation non-retryably', async () => {
    for (const kind of ['ensureSnapshot', 'createBranch', 'finalizeRestore'])
      expect(await failureOf(kind)).toMatchObject({ type: 'OperationFailed', nonRetryable: true });
  });
});

/** A view of `clock` restarted at 0, so each mutation's operations start at time 0 of their own. */
function offsetClock(clock: ReturnType<typeof fakeClock>): ReturnType<typeof fakeClock> {
  const origin = clock.now();
  return { ...clock, now: () => clock.now() - origin };
}

describe('settling against the emulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ operationDelayMs: 40 });
  });
  afterAll(() => h.stop());

  it('ensureSnapshot returns once its operations finished, in one activity', async () => {
    const { projectId, branchId } = await h.createProject();
    let result: { operationIds: string[] } | undefined;
    const counts = await h.countCalls(async () => {
      result = await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 'np-s' });
    });
    expect(counts['POST /projects/{project_id}/branches/{branch_id}/snapshot']).toBe(1);
    expect(total(counts)).toBeGreaterThanOrEqual(2); // the POST and at least one poll
    const ops = await h.run(h.activities.waitForOperations, { projectId, operationIds: result?.operationIds ?? [] });
    expect(ops.operations.map((o) => o.status)).toEqual(result?.operationIds.map(() => 'finished'));
    expect(ops.polls).toBe(1);
  });
});
