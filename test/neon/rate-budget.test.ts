import { RateBudget } from '../../src/neon';

/** A clock whose sleep advances time instantly, so minutes of budget run in milliseconds. */
function fakeClock() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms: number) => (now += ms),
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('RateBudget', () => {
  it('lets at most perSecondPerRoute requests of one route through in any second', async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ perSecondPerRoute: 3, perMinute: 1000, clock });
    const grantedAt: number[] = [];
    for (let i = 0; i < 7; i++) {
      await budget.acquire('GET /projects/{project_id}/operations/{operation_id}');
      grantedAt.push(clock.now());
    }
    const start = grantedAt[0] ?? 0;
    expect(grantedAt.map((t) => t - start)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000]);
    // Another route has its own per-second budget.
    await budget.acquire('GET /projects/{project_id}/branches');
    expect(clock.now() - start).toBe(2000);
  });

  it('lets at most perMinute requests through in any sliding minute, over all routes', async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ perSecondPerRoute: 100, perMinute: 5, clock });
    const start = clock.now();
    for (let i = 0; i < 5; i++) await budget.acquire(`route-${i}`);
    clock.advance(30_000);
    await budget.acquire('route-x');
    expect(clock.now() - start).toBe(60_000);
    expect(budget.stats()).toEqual({ granted: 6, waited: 1 });
  });

  it('concurrent callers never exceed the budget (real timers)', async () => {
    const budget = new RateBudget({ perSecondPerRoute: 4, perMinute: 1000 });
    const started = Date.now();
    const times = await Promise.all(
      Array.from({ length: 10 }, async () => {
        await budget.acquire('POST /x');
        return Date.now() - started;
      }),
    );
    times.sort((a, b) => a - b);
    expect(times.filter((t) => t < 900)).toHaveLength(4);
    expect(times.filter((t) => t < 1900)).toHaveLength(8);
  });

  it('stops waiting when the signal aborts', async () => {
    const budget = new RateBudget({ perSecondPerRoute: 1, perMinute: 1000 });
    await budget.acquire('r');
    const controller = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 20);
    const started = Date.now();
    await expect(budget.acquire('r', controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
