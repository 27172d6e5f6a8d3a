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

/**
 * 2,000 requests on one route through `budget`, each arriving at the server 0-99 ms after its grant (deterministic
 * pseudo-random), callers showing up unevenly; returns the most arrivals in any sliding second at the server.
 */
async function peakArrivalsPerSecond(budget: RateBudget, clock: ReturnType<typeof fakeClock>): Promise<number> {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const arrivals: number[] = [];
  for (let i = 0; i < 2000; i++) {
    if (i % 7 === 0) clock.advance(next() % 30);
    await budget.acquire('GET /projects/{project_id}/operations/{operation_id}');
    arrivals.push(clock.now() + (next() % 100));
  }
  arrivals.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while ((arrivals[j] ?? 0) <= (arrivals[i] ?? 0) - 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('RateBudget', () => {
  it('lets at most perSecondPerRoute requests of one route through in any second', async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ perSecondPerRoute: 3, perMinute: 1000, marginMs: 0, clock });
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
    const budget = new RateBudget({ perSecondPerRoute: 100, perMinute: 5, marginMs: 0, clock });
    const start = clock.now();
    for (let i = 0; i < 5; i++) await budget.acquire(`route-${i}`);
    clock.advance(30_000);
    await budget.acquire('route-x');
    expect(clock.now() - start).toBe(60_000);
    expect(budget.stats()).toEqual({ granted: 6, waited: 1 });
  });

  it('concurrent callers never exceed the budget (real timers)', async () => {
    const budget = new RateBudget({ perSecondPerRoute: 4, perMinute: 1000, marginMs: 0 });
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

  it('keeps a margin by default: 40 per route in any 1.1 s and 700 in any 60.1 s', async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ clock });
    const start = clock.now();
    const grantedAt: number[] = [];
    for (let i = 0; i < 81; i++) {
      await budget.acquire('GET /projects/{project_id}/operations/{operation_id}');
      grantedAt.push(clock.now() - start);
    }
    expect(grantedAt.slice(0, 40).every((t) => t === 0)).toBe(true);
    expect(grantedAt.slice(40, 80).every((t) => t === 1100)).toBe(true);
    expect(grantedAt[80]).toBe(2200);

    const minute = new RateBudget({ perSecondPerRoute: 1000, clock });
    const minuteStart = clock.now();
    for (let i = 0; i < 701; i++) await minute.acquire(`route-${i % 50}`);
    expect(clock.now() - minuteStart).toBe(60_100);
  });

  it('with the margin, jittered arrivals never put more than the limit into one second at the server', async () => {
    const clock = fakeClock();
    const withMargin = new RateBudget({ perSecondPerRoute: 40, perMinute: 1_000_000, marginMs: 100, clock });
    expect(await peakArrivalsPerSecond(withMargin, clock)).toBe(40);
    // Without it the same traffic overruns the server's window.
    const exact = new RateBudget({ perSecondPerRoute: 40, perMinute: 1_000_000, marginMs: 0, clock });
    expect(await peakArrivalsPerSecond(exact, clock)).toBeGreaterThan(40);
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

  it('with its limits set to 0 lets nothing through until a share arrives, which wakes the waiting caller', async () => {
    const budget = new RateBudget({ perSecondPerRoute: 5, perMinute: 100 });
    budget.setLimits({ perMinute: 0, perSecondPerRoute: 0 });
    let granted = false;
    const waiting = budget.acquire('r').then(() => (granted = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(granted).toBe(false);
    expect(budget.usage().waiting).toBe(1);
    budget.setLimits({ perMinute: 1, perSecondPerRoute: 1 });
    await waiting;
    expect(budget.usage()).toEqual({ perMinute: 1, perSecondPerRoute: 1, waiting: 0 });
    expect(budget.configured).toEqual({ perMinute: 100, perSecondPerRoute: 5 });
  });

  it('after a cut, grants already made count: callers wait until the window holds fewer than the new limit', async () => {
    const clock = fakeClock();
    const budget = new RateBudget({ perSecondPerRoute: 1000, perMinute: 10, marginMs: 0, clock });
    const start = clock.now();
    for (let i = 0; i < 10; i++) await budget.acquire(`r${i}`);
    budget.setLimits({ perMinute: 4, perSecondPerRoute: 1000 });
    await budget.acquire('r');
    // The 10 grants at `start` leave the window only a minute later; then 1 of 4 is taken.
    expect(clock.now() - start).toBe(60_000);
    expect(budget.usage().perMinute).toBe(1);
  });

  it('counts a request until its answer: arrivals delayed seconds past the margin still fit every second', async () => {
    // Requests answered while the budget's caller sleeps: the clock answers each once its time has come.
    let now = 1_000_000;
    const due: { at: number; answered: () => void }[] = [];
    const answerDue = () => {
      for (const request of due.filter(({ at }) => at <= now)) {
        request.answered();
        due.splice(due.indexOf(request), 1);
      }
    };
    const clock = {
      now: () => now,
      sleep: (ms: number) => {
        now += ms;
        answerDue();
        return Promise.resolve();
      },
    };
    const budget = new RateBudget({ perSecondPerRoute: 5, perMinute: 100_000, marginMs: 100, clock });
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const arrivals: number[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) now += next() % 200;
      answerDue();
      const answered = await budget.acquireUntilAnswered('GET /projects/{project_id}/operations/{operation_id}');
      // Most arrive at once; every fourth is held up 1-3 s (a busy event loop, the dispatcher's queue).
      const arrival = now + (i % 4 === 0 ? 1000 + (next() % 2000) : next() % 50);
      arrivals.push(arrival);
      due.push({ at: arrival + 5, answered });
    }
    arrivals.sort((a, b) => a - b);
    let peak = 0;
    for (let i = 0, j = 0; i < arrivals.length; i++) {
      while ((arrivals[j] ?? 0) <= (arrivals[i] ?? 0) - 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    expect(peak).toBeLessThanOrEqual(5);
  });

  it('usage counts the grants of the last minute plus margin', () => {
    const clock = fakeClock();
    const budget = new RateBudget({ perSecondPerRoute: 1000, perMinute: 1000, marginMs: 100, clock });
    void budget.acquire('a');
    clock.advance(60_050);
    void budget.acquire('b');
    void budget.acquire('b');
    expect(budget.usage()).toEqual({ perMinute: 3, perSecondPerRoute: 2, waiting: 0 });
    clock.advance(100);
    expect(budget.usage().perMinute).toBe(2);
  });
});
