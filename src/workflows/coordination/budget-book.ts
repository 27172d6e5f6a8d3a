/**
 * The bookkeeping of an account's rate budget (deterministic, no I/O): which shares each worker holds and how much of
 * the budget each may still use, and how the next lease is sized. The account budget workflow keeps one book and
 * hands it to its successor.
 *
 * Why the sum never exceeds the budget. A worker's local budget (src/neon/rate-budget.ts) grants a request only while
 * its requests in the last window (each counted until its answer, then at it) number fewer than the limit it
 * enforces at that moment. So in any window of Neon's, a worker's requests number at most the largest limit it
 * enforced during it (as long as a request reaches Neon within the book's margin of the lease it was granted under),
 * or, for the part of the window before its last report, at most what it reported having let through in the window
 * before that report (`used`). The book therefore charges each worker the most of: its last `used` (until a window
 * after the report), the share of every lease it may still be enforcing (until a window after that lease could lapse)
 * and the fallback of each (until a window after the fallback could end). This charge only falls with time, and a
 * lease is sized so that the charges of all workers together stay within the budget. A lease is never enforced after
 * the time the book takes it to lapse: the worker counts its `leaseMs` from before it sent the request, the book from
 * when it handles it.
 *
 * A worker reports which lease it enforces (`applied`); the others it was granted are then either older (what they
 * let through is in `used`) or never reached it (its renewals are sequential, it drops a late answer, and the book
 * ignores a request older than one it handled), so only the applied one stays charged. That is what lets a share move within a few renewals to a worker that needs it, instead
 * of a whole minute after the lease lapsed.
 *
 * Sizing: each live worker claims a floor plus one and a half times its demand (what it let through in the last minute
 * plus its callers waiting), and the budget is split max-min fairly over the claims, so a busy worker gets what idle
 * ones do not claim (a fleet of one busy and two idle workers uses all but two floors of it). A lease is the smaller of
 * the worker's fair part and what the other workers' charges leave: a joining worker gets its part once the others'
 * charges have fallen.
 */
import {
  LEASE_TIMING,
  type AccountBudgetState,
  type Lease,
  type LeaseRequest,
  type RateLimits,
  type ReleaseRequest,
} from '../contract/rate-lease';

/** Live workers' floor and the fallback, as a part of the budget (at least 1 request). */
const FLOOR_PART = 0.02;
/** A claim covers this much more than the worker's demand, so a growing worker's share grows ahead of it. */
const HEADROOM = 1.5;
/** Workers the book tracks at most; a renewal beyond it gets an empty lease (anyone may send one). */
export const MAX_WORKERS = 1000;

const DIMENSIONS = ['perMinute', 'perSecondPerRoute'] as const;
type Dimension = (typeof DIMENSIONS)[number];
const WINDOW_MS: Record<Dimension, number> = { perMinute: 60_000, perSecondPerRoute: 1_000 };
const ZERO: RateLimits = { perMinute: 0, perSecondPerRoute: 0 };

/** A lease the worker may be enforcing. */
export type HeldLease = {
  leaseId: string;
  share: RateLimits;
  fallback: RateLimits;
  /** Book time after which the worker no longer enforces the share, and then the fallback. */
  usableUntil: number;
  fallbackUntil: number;
};

export type WorkerEntry = {
  workerId: string;
  budget: RateLimits;
  /** What it reported having let through in the window before `usedAt`. */
  used: RateLimits;
  usedAt: number;
  waiting: number;
  /** The last of its requests the book handled (LeaseRequest.renewal). */
  renewal: number;
  seenAt: number;
  released: boolean;
  leases: HeldLease[];
};

/** Plain data, carried across continue-as-new. `epoch` makes lease IDs unique across books started afresh. */
export type BudgetBook = { epoch: string; issued: number; workers: WorkerEntry[] };

export function newBook(epoch: string): BudgetBook {
  return { epoch, issued: 0, workers: [] };
}

const live = (w: WorkerEntry, now: number) => !w.released && now < w.seenAt + LEASE_TIMING.leaseMs;

/** The most `w` may have let through, or may still let through, in a window of Neon's that ends at `now` or later. */
export function chargeOf(w: WorkerEntry, dim: Dimension, now: number): number {
  const span = WINDOW_MS[dim] + LEASE_TIMING.marginMs;
  let most = now < w.usedAt + span ? w.used[dim] : 0;
  for (const held of w.leases) {
    if (now < held.usableUntil + span) most = Math.max(most, held.share[dim]);
    if (now < held.fallbackUntil + span) most = Math.max(most, held.fallback[dim]);
  }
  return most;
}

const chargesOf = (w: WorkerEntry, now: number): RateLimits => ({
  perMinute: chargeOf(w, 'perMinute', now),
  perSecondPerRoute: chargeOf(w, 'perSecondPerRoute', now),
});

/** The smallest budget any tracked worker is configured with: workers that disagree get the safe one. */
export function budgetOf(book: BudgetBook, fallback: RateLimits): RateLimits {
  if (book.workers.length === 0) return fallback;
  return {
    perMinute: Math.min(...book.workers.map((w) => w.budget.perMinute)),
    perSecondPerRoute: Math.min(...book.workers.map((w) => w.budget.perSecondPerRoute)),
  };
}

/** Each worker's floor, and the fallback a lease carries (never more than its share). */
export const floorOf = (budget: RateLimits): RateLimits => ({
  perMinute: Math.max(1, Math.floor(budget.perMinute * FLOOR_PART)),
  perSecondPerRoute: Math.max(1, Math.floor(budget.perSecondPerRoute * FLOOR_PART)),
});

/**
 * Splits `total` max-min fairly: no claim gets more than it asks, and what small claims leave goes in equal parts to
 * the larger ones. Whole numbers; a remainder smaller than the open claims goes to the largest of them.
 */
export function fairShares(total: number, claims: number[]): number[] {
  const shares = claims.map(() => 0);
  let left = Math.max(0, Math.floor(total));
  let open = claims.map((_, i) => i).filter((i) => claims[i]! > 0);
  while (open.length > 0 && left > 0) {
    const level = Math.floor(left / open.length);
    if (level === 0) {
      const largest = [...open].sort((a, b) => claims[b]! - claims[a]! || a - b);
      for (const i of largest.slice(0, left)) shares[i]!++;
      break;
    }
    const next: number[] = [];
    for (const i of open) {
      const give = Math.min(claims[i]! - shares[i]!, level);
      shares[i]! += give;
      left -= give;
      if (shares[i]! < claims[i]!) next.push(i);
    }
    open = next;
  }
  return shares;
}

/** Drops the workers that are not live and whose charges are all spent. */
function prune(book: BudgetBook, now: number): void {
  book.workers = book.workers.filter((w) => {
    w.leases = w.leases.filter((h) => now < h.fallbackUntil + WINDOW_MS.perMinute + LEASE_TIMING.marginMs);
    const charged = DIMENSIONS.some((dim) => chargeOf(w, dim, now) > 0);
    return live(w, now) || charged;
  });
}

/** No worker is live and nothing is charged: the book can be forgotten. */
export function isSpent(book: BudgetBook, now: number): boolean {
  prune(book, now);
  return book.workers.length === 0;
}

const whole = (n: number) => Math.max(0, Math.floor(n));
const wholeLimits = (l: RateLimits): RateLimits => ({
  perMinute: whole(l.perMinute),
  perSecondPerRoute: whole(l.perSecondPerRoute),
});

/**
 * What a renewal says of the past. Every lease but the applied one is no longer enforced from the time the request
 * was sent: older ones were superseded, newer ones never reached the worker (its renewals are sequential, it drops an
 * answer past the deadline, and the book ignores a request older than one it handled). What they let through was
 * granted before the request was sent, so `used`, which counts the grants of the window before sending, covers every
 * one of them that a window of Neon's ending now or later can hold: those leases are charged no more.
 */
function recordUsed(w: WorkerEntry, req: LeaseRequest, now: number): void {
  let applied = w.leases.find((h) => h.leaseId === req.applied);
  if (req.applied !== null && !applied) {
    // A lease this book did not issue (a book started afresh while the worker held one): charged as reported.
    const holding = wholeLimits(req.holding);
    applied = {
      leaseId: req.applied,
      share: holding,
      fallback: holding,
      usableUntil: now + LEASE_TIMING.leaseMs,
      fallbackUntil: now + LEASE_TIMING.leaseMs + LEASE_TIMING.fallbackMs,
    };
  }
  w.leases = applied ? [applied] : [];
  w.used = wholeLimits(req.used);
  w.usedAt = now;
  w.renewal = req.renewal;
}

/** Records a worker's renewal and sizes its next lease. `now` is the workflow's time. */
export function renew(book: BudgetBook, req: LeaseRequest, now: number): Lease {
  prune(book, now);
  let w = book.workers.find((x) => x.workerId === req.workerId);
  if (!w) {
    if (book.workers.length >= MAX_WORKERS) return leaseOf(`${book.epoch}-none`, ZERO, ZERO, 0);
    w = {
      workerId: req.workerId,
      budget: ZERO,
      used: ZERO,
      usedAt: now,
      waiting: 0,
      renewal: -1,
      seenAt: now,
      released: false,
      leases: [],
    };
    book.workers.push(w);
  }
  // Older than a request already handled: the worker dropped its answer, and the request says nothing newer.
  if (req.renewal <= w.renewal) return leaseOf(`${book.epoch}-stale`, ZERO, ZERO, 0);
  w.budget = wholeLimits(req.budget);
  w.waiting = whole(req.waiting);
  w.seenAt = now;
  w.released = false;
  recordUsed(w, req, now);

  const budget = budgetOf(book, req.budget);
  const floor = floorOf(budget);
  const workers = book.workers.filter((x) => live(x, now));
  const me = workers.indexOf(w);
  const demand = workers.map((x) => x.used.perMinute + x.waiting);
  const minuteClaims = demand.map((d) => Math.min(budget.perMinute, floor.perMinute + Math.ceil(HEADROOM * d)));
  const minuteParts = fairShares(budget.perMinute, minuteClaims);
  // Per route, each worker claims the part of the route budget its minute part is of the minute budget.
  const routeClaims = minuteParts.map((part) =>
    Math.max(floor.perSecondPerRoute, Math.ceil((budget.perSecondPerRoute * part) / budget.perMinute)),
  );
  const routeParts = fairShares(budget.perSecondPerRoute, routeClaims);
  const target: RateLimits = { perMinute: minuteParts[me] ?? 0, perSecondPerRoute: routeParts[me] ?? 0 };

  const share = { ...ZERO };
  for (const dim of DIMENSIONS) {
    const others = book.workers.reduce((sum, x) => sum + (x === w ? 0 : chargeOf(x, dim, now)), 0);
    share[dim] = Math.max(0, Math.min(target[dim], budget[dim] - others));
  }
  const fallback: RateLimits = {
    perMinute: Math.min(floor.perMinute, share.perMinute),
    perSecondPerRoute: Math.min(floor.perSecondPerRoute, share.perSecondPerRoute),
  };
  const leaseId = `${book.epoch}-${++book.issued}`;
  w.leases.push({
    leaseId,
    share,
    fallback,
    usableUntil: now + LEASE_TIMING.leaseMs,
    fallbackUntil: now + LEASE_TIMING.leaseMs + LEASE_TIMING.fallbackMs,
  });
  return leaseOf(leaseId, share, fallback, w.waiting);
}

function leaseOf(leaseId: string, share: RateLimits, fallback: RateLimits, waiting: number): Lease {
  return {
    leaseId,
    share,
    leaseMs: LEASE_TIMING.leaseMs,
    fallback,
    fallbackMs: LEASE_TIMING.fallbackMs,
    renewInMs: waiting > 0 || share.perMinute === 0 ? LEASE_TIMING.busyRenewMs : LEASE_TIMING.renewMs,
  };
}

/** A worker that stopped lets nothing through from now on: only what it let through lately stays charged. */
export function release(book: BudgetBook, req: ReleaseRequest, now: number): void {
  const w = book.workers.find((x) => x.workerId === req.workerId);
  if (!w || req.renewal <= w.renewal) return;
  // It set its budget to nothing before it sent this: `used` covers all it let through, and it enforces no lease.
  w.released = true;
  w.renewal = req.renewal;
  w.used = wholeLimits(req.used);
  w.usedAt = now;
  w.waiting = 0;
  w.leases = [];
  prune(book, now);
}

/** The book as operators see it. */
export function stateOf(book: BudgetBook, now: number, fallback: RateLimits): AccountBudgetState {
  const workers = book.workers.map((w) => ({
    workerId: w.workerId,
    live: live(w, now),
    share: w.leases.at(-1)?.share ?? null,
    committed: chargesOf(w, now),
  }));
  return {
    budget: budgetOf(book, fallback),
    committed: {
      perMinute: workers.reduce((sum, w) => sum + w.committed.perMinute, 0),
      perSecondPerRoute: workers.reduce((sum, w) => sum + w.committed.perSecondPerRoute, 0),
    },
    workers,
  };
}
