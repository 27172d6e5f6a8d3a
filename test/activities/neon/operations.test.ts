import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type WaitForOperationsResult } from '../../../src/activities';
import type { NeonClient, NeonOperation } from '../../../src/neon';
import { startHarness } from '../../support/activity-harness';

/** A clock whose sleeps take no time: the schedule of polls is asserted, not the machine's timers. */
function fakeClock() {
  let now = 0;
  return { now: () => now, sleep: (ms: number) => ((now += ms), Promise.resolve()) };
}

/** A fake Neon whose operations finish after a given number of polls each (or fail); `at` by `clock` when given. */
function fakeNeon(plan: Record<string, { after: number; status?: string }>, clock = { now: () => Date.now() }) {
  const polls: Record<string, number> = {};
  const at: number[] = [];
  const neon = {
    getOperation: (_projectId: string, id: string) => {
      at.push(clock.now());
      polls[id] = (polls[id] ?? 0) + 1;
      const p = plan[id] ?? { after: 1 };
      const status = polls[id] >= p.after ? (p.status ?? 'finished') : 'running';
      const op: NeonOperation = {
        id,
        project_id: 'p-1',
        branch_id: null,
        endpoint_id: null,
        action: 'create_timeline',
        status,
        error: status === 'failed' ? 'disk on fire' : null,
        failures_count: 0,
        created_at: '',
        updated_at: '',
        total_duration_ms: 12,
      };
      return Promise.resolve(op);
    },
  };
  return { neon: neon as unknown as NeonClient, polls, at };
}

describe('waitForOperations', () => {
  it('checks at once, then at a growing interval capped at maxPollIntervalMs, heartbeating each round', async () => {
    const clock = fakeClock();
    const { neon, polls, at } = fakeNeon({ a: { after: 1 }, b: { after: 6 } }, clock);
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const res: WaitForOperationsResult = await env.run(createActivities({ neon, clock }).waitForOperations, {
      projectId: 'p-1',
      operationIds: ['a', 'b'],
      maxPollIntervalMs: 200,
    });
    expect(res.polls).toBe(6);
    expect(res.operations.map((o) => [o.id, o.status])).toEqual([
      ['a', 'finished'],
      ['b', 'finished'],
    ]);
    // 'a' finished in round one and is not polled again.
    expect(polls).toEqual({ a: 1, b: 6 });
    // Both at once, then 100, 150, 200 (cap), 200, 200 ms apart: growing, then capped.
    expect(at).toEqual([0, 0, 100, 250, 450, 650, 850]);
    expect(beats).toHaveLength(6);
    expect(beats[0]).toMatchObject({ done: [{ id: 'a' }], polls: 1 });
  });

  it('resumes from heartbeat details without polling finished operations again', async () => {
    const { neon, polls } = fakeNeon({ b: { after: 1 } });
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: { done: [{ id: 'a', action: 'x', status: 'finished', totalDurationMs: 1 }], polls: 4 },
    });
    const res: WaitForOperationsResult = await env.run(createActivities({ neon }).waitForOperations, {
      projectId: 'p-1',
      operationIds: ['a', 'b'],
    });
    expect(polls).toEqual({ b: 1 });
    expect(res.polls).toBe(5);
    expect(res.operations.map((o) => o.id)).toEqual(['a', 'b']);
  });

  it('fails non-retryably with OperationFailed naming the operation', async () => {
    const { neon } = fakeNeon({ a: { after: 2, status: 'failed' } });
    const err = await new MockActivityEnvironment()
      .run(createActivities({ neon }).waitForOperations, { projectId: 'p-1', operationIds: ['a'] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'OperationFailed', nonRetryable: true, details: [{ operationId: 'a' }] });
    expect((err as Error).message).toContain('disk on fire');
  });

  it('stops promptly when the activity is cancelled', async () => {
    const { neon, polls } = fakeNeon({ a: { after: 1_000_000 } });
    const env = new MockActivityEnvironment();
    const running = env.run(createActivities({ neon }).waitForOperations, {
      projectId: 'p-1',
      operationIds: ['a'],
      maxPollIntervalMs: 5000,
    });
    await new Promise((r) => setTimeout(r, 400));
    const cancelledAt = Date.now();
    env.cancel('CANCELLED');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    // Well within the 5 s it was sleeping: the sleep ended with the cancellation (a loaded machine adds its own delay).
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    const seen = polls.a;
    await new Promise((r) => setTimeout(r, 300));
    expect(polls.a).toBe(seen);
  });

  it('waits for real emulator operations and reports them finished', async () => {
    const h = await startHarness({ operationDelayMs: 300 });
    try {
      const { projectId, branchId } = await h.createProject();
      // Started through the API itself: a mutation activity would wait for its operations before it answers.
      const snap = await h.api('POST', `/projects/${projectId}/branches/${branchId}/snapshot?name=ops`);
      const operationIds = (snap.operations as { id: string }[]).map((op) => op.id);
      const started = Date.now();
      let res: Awaited<ReturnType<typeof h.activities.waitForOperations>> | undefined;
      const counts = await h.countCalls(async () => {
        res = await h.run(h.activities.waitForOperations, { projectId, operationIds });
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(res?.operations.every((o) => o.status === 'finished')).toBe(true);
      expect(counts['GET /projects/{project_id}/operations/{operation_id}']).toBe(res?.polls);
    } finally {
      await h.stop();
    }
  });
});
