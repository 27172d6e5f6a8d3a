import { MockActivityEnvironment } from '@temporalio/testing';
import { asPart, SENDS_AFTER_FAILED_OPERATION, settling, SettleTimes } from '../../../src/activities/neon/operations';
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

/**
 * A fake Neon whose operations finish `durationMs` after the mutation (on the fake clock) and then report having run
 * `reportedMs` (by default 30 ms less, as Neon's figure leaves out the time before an operation started running).
 */
function fakeNeon(
  clock: ReturnType<typeof fakeClock>,
  durationMs: number,
  polledAt: number[] = [],
  reportedMs = Math.max(1, durationMs - 30),
) {
  const neon = {
    getOperation: (_projectId: string, id: string) => {
      polledAt.push(clock.now());
      const done = clock.now() >= durationMs;
      const op = { id, action: 'create_timeline', status: done ? 'finished' : 'running' };
      return Promise.resolve({ ...op, total_duration_ms: done ? reportedMs : 0 } as NeonOperation);
    },
  };
  return { neon: neon as unknown as NeonClient, polledAt };
}

const mutate = () => Promise.resolve({ created: true, operationIds: ['op-1'] });

/**
 * Mutations of `kind` one after the other, each on a clock restarted at 0, whose operations take `durations` (ms):
 * for each, when its polls were sent.
 */
async function waits(times: SettleTimes, kind: string, durations: number[], reported?: (ms: number) => number) {
  const clock = fakeClock();
  const env = new MockActivityEnvironment();
  const polls: number[][] = [];
  for (const ms of durations) {
    const restarted = offsetClock(clock);
    const { neon, polledAt } = fakeNeon(restarted, ms, [], reported?.(ms));
    await env.run(settling(kind, mutate, { neon, clock: restarted }, times), { projectId: 'p-1' });
    polls.push(polledAt);
  }
  return polls;
}

/** Durations around 110 ms, as on the emulator at --op-delay 100: its 10 ms ticks and the load move them. */
const steady = (n: number) => Array.from({ length: n }, (_, i) => [104, 112, 98, 118, 109, 101, 115][i % 7]!);

describe('SettleTimes', () => {
  it('after a few waits of steady durations, first polls find the work done, soon after it', async () => {
    const times = new SettleTimes();
    const durations = steady(40);
    const polls = (await waits(times, 'm', durations)).slice(5);
    expect(polls.filter((p) => p.length > 1)).toEqual([]);
    // Each one poll, after the work and at most 12 ms past the longest of them.
    for (const [i, [at]] of polls.entries()) {
      expect(at).toBeGreaterThanOrEqual(durations[i + 5]!);
      expect(at).toBeLessThanOrEqual(130);
    }
  });

  it('follows a duration that changes: up after a few early first polls, down within its window', async () => {
    const times = new SettleTimes();
    await waits(times, 'm', steady(10));
    const durations = steady(12).map((ms) => ms + 140);
    const slower = await waits(times, 'm', durations);
    // The first two come early (one slow wait could be an outlier), perhaps one more while two are all it has seen.
    expect(slower.filter((p) => p.length > 1).length).toBeLessThanOrEqual(3);
    expect(slower.slice(4).map((p) => p.length)).toEqual(Array<number>(8).fill(1));
    expect(times.firstDelayMs('m')).toBeLessThanOrEqual(Math.max(...durations) * 1.15);
    // Quick again: the estimate comes down within a window of waits, missing none on the way.
    const quicker = await waits(times, 'm', steady(12));
    expect(quicker.map((p) => p.length)).toEqual(Array<number>(12).fill(1));
    expect(times.firstDelayMs('m')).toBeLessThanOrEqual(130);
  });

  it('does not wait long after one very slow operation, and never longer than the cap', async () => {
    const times = new SettleTimes(1000);
    await waits(times, 'm', steady(10));
    await waits(times, 'm', [4000], (ms) => ms - 30);
    const after = await waits(times, 'm', steady(10));
    expect(Math.max(...after.map(([at]) => at!))).toBeLessThanOrEqual(130);
    expect(after.map((p) => p.length)).toEqual(Array<number>(10).fill(1));
    // A kind whose operations always take a minute still polls first at the cap.
    await waits(times, 'slow', [60_000, 60_000, 60_000], (ms) => ms - 30);
    expect(times.firstDelayMs('slow')).toBe(1000);
  });

  it('an end is taken no later than the poll that found the work done, and not before the answer', async () => {
    // Neon reports more than the time since the answer (the work began before it): the first poll, at 100 ms, found
    // it done, so it ended by then, not halfway to the 400 ms reported.
    const times = new SettleTimes();
    await waits(times, 'm', [50], () => 400);
    expect(times.firstDelayMs('m')).toBe(105);
    // A gap below 0 (Neon's figure longer than the wait it left out part of) puts the next end before the answer:
    // 0 at the least, never a delay below none.
    const early = new SettleTimes();
    early.record('m', [100, 110], 500);
    early.record('m', [105], 50);
    expect(early.firstDelayMs('m')).toBe(0);
  });

  it("a worker's first waits: 100 ms before anything is timed, then a kind not timed yet starts from a typical estimate", async () => {
    const times = new SettleTimes();
    expect(times.firstDelayMs('ensureSnapshot')).toBe(100);
    // Seven kinds of 110 ms, each waited for once (a worker's first promotion): no poll at once, and those after the
    // first start from an estimate of ~110 ms (7 polls at the least).
    const kinds = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const polls: number[][] = [];
    for (const kind of kinds) polls.push(...(await waits(times, kind, [110])));
    expect(polls[0]).toEqual([100, 125]); // a guess's next polls come a quarter of it apart
    expect(polls.flat().length).toBeLessThanOrEqual(11);
    // Not the shortest estimate: the median of the kinds timed.
    const spread = new SettleTimes();
    await waits(spread, 'quick', [50, 50]);
    await waits(spread, 'usual', [300, 300]);
    await waits(spread, 'slow', [2000, 2000]);
    expect(spread.firstDelayMs('new')).toBe(spread.firstDelayMs('usual'));
  });
});

describe('settling', () => {
  it('waits for the operations; the next wait of that kind polls first when the work is due', async () => {
    const clock = fakeClock();
    const { neon, polledAt } = fakeNeon(clock, 120);
    const times = new SettleTimes();
    const wrapped = settling('m', mutate, { neon, clock }, times);
    const env = new MockActivityEnvironment();
    const input = { projectId: 'p-1' };
    const first = await env.run(wrapped, input);
    expect(first).toEqual({ created: true, operationIds: ['op-1'] });
    // Nothing timed yet: after 100 ms, then 25 ms later; the work finished in between (at 120).
    expect(polledAt).toEqual([100, 125]);
    // Then the first poll comes about when the work is done: perhaps early for two more waits (when in between it
    // ended is a guess, and one wait that ended later does not yet count), then just after it.
    const later = await waits(times, 'm', [120, 120, 120, 120, 120]);
    expect(later.filter((p) => p.length > 1).length).toBeLessThanOrEqual(2);
    for (const p of later.slice(2)) {
      expect(p).toHaveLength(1);
      expect(p[0]).toBeGreaterThanOrEqual(120);
      expect(p[0]).toBeLessThanOrEqual(132);
    }
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
  /** `failedBefore`: run as a part whose earlier sends met that many failed operations. */
  const failureOf = (kind: string, attempt = 1, failedBefore?: number): Promise<unknown> => {
    const mutate = () => Promise.resolve({ deleted: true, operationIds: ['op-1'] });
    const wrapped = settling(kind, mutate, { neon, clock: fakeClock() }, new SettleTimes());
    const part = { failedOperationSends: failedBefore ?? 0, heartbeat: () => undefined };
    const run = (input: { projectId: string }) =>
      failedBefore === undefined ? wrapped(input) : asPart(part, () => wrapped(input));
    return new MockActivityEnvironment({ attempt }).run(run, { projectId: 'p-1' }).then(
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

  it("as a part of a larger activity, counts the part's own sends that met a failed operation, not the attempts", async () => {
    const last = SENDS_AFTER_FAILED_OPERATION;
    expect(await failureOf('deleteSnapshot', last, 0)).toMatchObject({ nonRetryable: false });
    expect(await failureOf('deleteSnapshot', last + 3, last - 2)).toMatchObject({ nonRetryable: false });
    expect(await failureOf('deleteSnapshot', last + 3, last - 1)).toMatchObject({ nonRetryable: true });
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
