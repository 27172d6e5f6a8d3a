/**
 * The account budget's bookkeeping, against simulated workers that enforce their leases as the worker does
 * (src/worker/rate-lease.ts over src/neon/rate-budget.ts): renewals that arrive late or whose answer is lost, a worker
 * cut off from the workflow that keeps using its lease and then its fallback, demand that moves from worker to worker.
 * Requests arrive at Neon up to 100 ms after their grant. No window of Neon's ever holds more than the budget, and a
 * busy worker next to idle ones gets at least 90% of it.
 */
import {
  LEASE_TIMING,
  type Lease,
  type LeaseRequest,
  type RateLimits,
} from '../../../src/workflows/contract/rate-lease';
import { fairShares, newBook, release, renew, type BudgetBook } from '../../../src/workflows/coordination/budget-book';

const BUDGET: RateLimits = { perMinute: 120, perSecondPerRoute: 5 };
const MARGIN = 100; // the worker's own margin (RateBudget's default)
const ROUTES = ['GET op', 'POST branch', 'GET branches'];

function random(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** A renewal: sent, handled by the book, answered; the worker gives up on it at its deadline. */
type Call = {
  worker: SimWorker;
  req: LeaseRequest;
  sentAt: number;
  handleAt: number;
  receiveAt: number;
  lost: boolean;
  lease?: Lease;
};
const DEADLINE_MS = 5_000;

/** A worker: its local windows, its lease as the keeper holds it, its renewal in flight. */
class SimWorker {
  grants: { t: number; route: string }[] = [];
  limits: RateLimits = { perMinute: 0, perSecondPerRoute: 0 };
  held: { lease: Lease; expiresAt: number; fallbackUntil: number } | null = null;
  inFlight: Call | null = null;
  sent = 0;
  nextRenewal = 0;
  backlog = 0;
  /** Cut off from the workflow: renewals never arrive, the worker keeps granting on what it holds. */
  cutOff = false;
  stopped = false;
  constructor(readonly id: string) {}

  count(t: number, windowMs: number, route?: string): number {
    return this.grants.filter((g) => g.t > t - windowMs && g.t <= t && (!route || g.route === route)).length;
  }
  enforce(t: number): void {
    const h = this.held;
    if (h && t < h.expiresAt) this.limits = h.lease.share;
    else if (h && t < h.fallbackUntil) this.limits = h.lease.fallback;
    else [this.held, this.limits] = [null, { perMinute: 0, perSecondPerRoute: 0 }];
  }
  tryGrant(t: number, route: string): boolean {
    if (this.count(t, 60_000 + MARGIN) >= this.limits.perMinute) return false;
    if (this.count(t, 1_000 + MARGIN, route) >= this.limits.perSecondPerRoute) return false;
    this.grants.push({ t, route });
    return true;
  }
  request(t: number): LeaseRequest {
    const busiest = Math.max(...ROUTES.map((r) => this.count(t, 1_000 + MARGIN, r)));
    return {
      workerId: this.id,
      budget: BUDGET,
      applied: this.held?.lease.leaseId ?? null,
      renewal: ++this.sent,
      holding: this.limits,
      used: { perMinute: this.count(t, 60_000 + MARGIN), perSecondPerRoute: busiest },
      waiting: Math.min(this.backlog, 50),
    };
  }
}

/** Runs the simulation; `demand(worker, t)` is how many requests a worker wants started in the 50 ms step at t. */
function simulate(
  seed: number,
  durationMs: number,
  demand: (w: number, t: number) => number,
  events: (workers: SimWorker[], book: BudgetBook, t: number) => void = () => undefined,
) {
  const rnd = random(seed);
  const book = newBook('sim');
  const workers = [0, 1, 2].map((i) => new SimWorker(`w${i}`));
  const arrivals: { t: number; route: string; worker: number }[] = [];
  let calls: Call[] = [];
  for (let t = 0; t < durationMs; t += 50) {
    events(workers, book, t);
    // Requests the book handles in this step, in the order they reach it: one the worker gave up on may come after
    // the next one it sent.
    for (const call of calls.filter((c) => !c.lease && c.handleAt < t + 50).sort((a, b) => a.handleAt - b.handleAt))
      call.lease = renew(book, call.req, call.handleAt);
    calls = calls.filter((c) => !c.lease);
    workers.forEach((w, i) => {
      if (w.stopped) return;
      const f = w.inFlight;
      if (f && (f.receiveAt <= t || t >= f.sentAt + DEADLINE_MS)) {
        w.inFlight = null;
        // A lost answer, or one past the deadline, is dropped.
        if (f.lease && f.receiveAt <= t && f.receiveAt < f.sentAt + DEADLINE_MS && !f.lost && !w.cutOff) {
          w.held = {
            lease: f.lease,
            expiresAt: f.sentAt + f.lease.leaseMs,
            fallbackUntil: f.sentAt + f.lease.leaseMs + f.lease.fallbackMs,
          };
          w.nextRenewal = t + f.lease.renewInMs;
        } else w.nextRenewal = t + LEASE_TIMING.busyRenewMs;
      }
      w.enforce(t);
      if (!w.inFlight && t >= w.nextRenewal) {
        const oneWay = rnd() < 0.05 ? 2_000 + rnd() * 8_000 : rnd() * 300;
        const call: Call = {
          worker: w,
          req: w.request(t),
          sentAt: t,
          handleAt: t + oneWay,
          receiveAt: t + 2 * oneWay,
          lost: rnd() < 0.05,
        };
        w.inFlight = call;
        // A worker cut off reaches nobody.
        if (!w.cutOff) calls.push(call);
      }
      w.backlog += demand(i, t);
      for (let k = 0; k < 20 && w.backlog > 0; k++) {
        const route = ROUTES[Math.floor(rnd() * ROUTES.length)]!;
        if (!w.tryGrant(t + k * 2, route)) break;
        w.backlog--;
        arrivals.push({ t: w.grants.at(-1)!.t + rnd() * MARGIN, route, worker: i });
      }
    });
  }
  return { arrivals, workers, book };
}

/** Most arrivals in any sliding window of `ms`, optionally of one route or one worker. */
function peak(
  arrivals: { t: number; route: string; worker: number }[],
  ms: number,
  only = (_: (typeof arrivals)[0]) => true,
) {
  const times = arrivals
    .filter(only)
    .map((a) => a.t)
    .sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

function withinBudget(arrivals: { t: number; route: string; worker: number }[]): void {
  expect(peak(arrivals, 60_000)).toBeLessThanOrEqual(BUDGET.perMinute);
  for (const route of ROUTES)
    expect(peak(arrivals, 1_000, (a) => a.route === route)).toBeLessThanOrEqual(BUDGET.perSecondPerRoute);
}

test('fairShares splits max-min fairly in whole numbers and never more than the total', () => {
  expect(fairShares(120, [2, 2, 500])).toEqual([2, 2, 116]);
  expect(fairShares(120, [500, 500, 500])).toEqual([40, 40, 40]);
  expect(fairShares(10, [4, 4, 4]).reduce((a, b) => a + b)).toBe(10);
  expect(fairShares(5, [1, 3, 3])).toEqual([1, 2, 2]);
  expect(fairShares(0, [3, 3])).toEqual([0, 0]);
});

test.each([1, 2, 3, 4, 5])('saturated workers with late and lost renewals stay within the budget (seed %i)', (seed) => {
  const { arrivals } = simulate(seed, 6 * 60_000, () => 3);
  withinBudget(arrivals);
  // Saturated, the fleet uses the budget: the busiest minute holds at least 90% of it.
  expect(peak(arrivals, 60_000)).toBeGreaterThanOrEqual(0.9 * BUDGET.perMinute);
});

test('demand moving from worker to worker, a worker cut off and one that stops: within the budget', () => {
  const { arrivals } = simulate(
    11,
    8 * 60_000,
    // Each worker busy for its own two minutes, all busy in the last two.
    (w, t) => (Math.floor(t / 120_000) === w || t >= 360_000 ? 4 : 0),
    (workers, book, t) => {
      if (t === 150_000) workers[1]!.cutOff = true; // keeps granting on its lease, then its fallback
      if (t === 300_000) {
        workers[0]!.stopped = true;
        workers[0]!.held = null;
        const { used, renewal } = workers[0]!.request(t);
        release(book, { workerId: 'w0', renewal, used }, t);
      }
    },
  );
  withinBudget(arrivals);
});

test('a busy worker next to two idle ones gets at least 90% of the budget', () => {
  const { arrivals } = simulate(21, 4 * 60_000, (w) => (w === 2 ? 5 : 0));
  expect(peak(arrivals, 60_000, (a) => a.worker === 2)).toBeGreaterThanOrEqual(0.9 * BUDGET.perMinute);
  withinBudget(arrivals);
});

test('a worker that never got a lease lets nothing through', () => {
  const { arrivals } = simulate(
    31,
    60_000,
    () => 3,
    (workers, _book, t) => {
      if (t === 0) workers[0]!.cutOff = true;
    },
  );
  expect(arrivals.filter((a) => a.worker === 0)).toEqual([]);
});

test('a renewal that reaches the book after a newer one of the same worker changes nothing', () => {
  const book = newBook('order');
  const none = { perMinute: 0, perSecondPerRoute: 0 };
  const req = (workerId: string, renewal: number, applied: string | null, waiting: number, used = none) => ({
    workerId,
    budget: BUDGET,
    applied,
    renewal,
    holding: none,
    used,
    waiting,
  });
  // Idle, A holds a floor share; its second renewal is delayed, and it gives up on it; its third, with callers
  // waiting, gets the whole budget, which A then uses.
  const first = renew(book, req('a', 1, null, 0), 0);
  const third = renew(book, req('a', 3, first.leaseId, 100), 6_000);
  expect(third.share.perMinute).toBe(BUDGET.perMinute);
  // The second arrives now: it speaks of the floor lease and of nothing used, but A enforces the third's share.
  renew(book, req('a', 2, first.leaseId, 0), 8_000);
  // So B, joining, gets nothing of the minute budget while A's grants of the third lease are in the window.
  expect(renew(book, req('b', 1, null, 100), 9_000).share.perMinute).toBe(0);
});
