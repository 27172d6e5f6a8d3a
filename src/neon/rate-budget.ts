/**
 * Client-side rate budget, so a fleet of promotions in one worker slows down instead of collecting 429s.
 *
 * Neon allows 700 requests a minute per account and bursts of 40 a second per route. A token bucket refilled at
 * 700/min still lets a full bucket plus a minute's refill through in the first minute, so this keeps a sliding window
 * of grant times instead: at most `perMinute` grants in any 60 s and `perSecondPerRoute` per route in any 1 s.
 *
 * Neon counts a request when it arrives, not when this process granted it, and the time between the two varies (the
 * dispatcher's queue, the event loop, the network; on a loaded machine by seconds). Counted at its grant, a request
 * whose arrival was delayed lands in a later window of Neon's than the one the budget counted it in, so windows
 * bunch at the server (the bench saw 41 of 40 a second, and 724 a minute under load). A request sent through
 * `acquireUntilAnswered` is therefore counted in every window from its grant until its answer (or failure), and from
 * then on at its answer's time, which is never before it arrived: when a request is granted, every request that
 * arrives within a window of it at Neon is counted, whatever the delays. Each window is still enforced `marginMs`
 * longer than Neon's, for what clock granularity and Neon's own counting leave (40 per 1.1 s per route and 700 per
 * 60.1 s with the defaults).
 *
 * The limits can change while requests wait (`setLimits`): a worker pointed at an account that other workers share
 * enforces the share of the account's budget it currently holds (src/worker/rate-lease.ts), and 0 makes every caller
 * wait until a share arrives.
 */

export type RateBudgetOptions = {
  /** Requests in any sliding minute, all routes together (default 700). */
  perMinute?: number;
  /** Requests in any sliding second, per route (default 40). */
  perSecondPerRoute?: number;
  /**
   * How much longer than Neon's windows the budget counts grants over (default 100 ms): the spread of grant-to-arrival
   * delays it absorbs. 0 grants exactly at the limit (tests of the window arithmetic).
   */
  marginMs?: number;
  /** Injected in tests to run minutes of budget in milliseconds. */
  clock?: { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<void> };
};

/** Limits of a budget or of a share of one: requests in any sliding minute, and per route in any sliding second. */
export type RateLimits = { perMinute: number; perSecondPerRoute: number };

/** What a budget has let through lately and how many callers wait: a shared budget's measure of demand. */
export type RateUsage = {
  /** Requests within the last minute plus margin (the unanswered ones included), all routes. */
  perMinute: number;
  /** Requests within the last second plus margin on the busiest route (the unanswered ones included). */
  perSecondPerRoute: number;
  /** Callers waiting for a grant now. */
  waiting: number;
};

/** How long a caller waits at most before looking again while its limit is 0 (a new limit wakes it sooner). */
const IDLE_LOOK_MS = 1000;

/**
 * Requests counted at a time (their answer's, or their grant's when nothing is sent), oldest first and pruned on every
 * look, and requests granted but not answered yet, which every window counts.
 */
class SlidingWindow {
  private readonly times: number[] = [];
  private pending = 0;
  constructor(
    public limit: number,
    readonly windowMs: number,
  ) {}

  /**
   * Milliseconds until one more grant fits (0 = now; Infinity while the limit is 0). Where unanswered requests fill
   * the window, a window from now at least: each counts from its answer, which is not in yet.
   */
  waitMs(now: number): number {
    const count = this.count(now);
    if (count < this.limit) return 0;
    if (this.limit <= 0) return Infinity;
    const oldest = this.times[count - this.limit];
    return oldest === undefined ? this.windowMs : Math.max(1, oldest + this.windowMs - now);
  }

  /** Requests within the window ending now, the unanswered ones included. */
  count(now: number): number {
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    return this.times.length + this.pending;
  }

  /** A grant, counted in every window until `answered` (which counts it at that time). */
  open(): void {
    this.pending++;
  }

  answered(now: number): void {
    this.pending--;
    this.times.push(now);
  }

  get idle(): boolean {
    return this.times.length === 0 && this.pending === 0;
  }
}

export class RateBudget {
  /** The limits it was configured with: the account's whole budget when the budget is shared. */
  readonly configured: RateLimits;
  readonly marginMs: number;
  private current: RateLimits;
  /** Callers waiting, each with a controller that wakes it when the limits change. */
  private readonly waiters = new Set<AbortController>();
  private readonly overall: SlidingWindow;
  private readonly routes = new Map<string, SlidingWindow>();
  private readonly clock: NonNullable<RateBudgetOptions['clock']>;
  private granted = 0;
  private waited = 0;

  constructor(options: RateBudgetOptions = {}) {
    this.configured = { perMinute: options.perMinute ?? 700, perSecondPerRoute: options.perSecondPerRoute ?? 40 };
    this.marginMs = options.marginMs ?? 100;
    if (!(this.configured.perMinute >= 1) || !(this.configured.perSecondPerRoute >= 1))
      throw new RangeError('rate budget limits must be >= 1');
    if (!(this.marginMs >= 0)) throw new RangeError('rate budget margin must be >= 0');
    this.current = { ...this.configured };
    this.overall = new SlidingWindow(this.current.perMinute, 60_000 + this.marginMs);
    this.clock = options.clock ?? { now: () => Date.now(), sleep };
  }

  /** Requests in any sliding minute it lets through now. */
  get perMinute(): number {
    return this.current.perMinute;
  }

  /** Requests per route in any sliding second it lets through now. */
  get perSecondPerRoute(): number {
    return this.current.perSecondPerRoute;
  }

  /**
   * Enforces other limits from now on (whole numbers, 0 = let nothing through), and wakes the waiting callers to look
   * again. Grants already made stay in the windows: after a cut, callers wait until the grants of the last window
   * number fewer than the new limit, so no window holds more than the largest limit in force during it.
   */
  setLimits(limits: RateLimits): void {
    const { perMinute, perSecondPerRoute } = limits;
    if (!Number.isInteger(perMinute) || !Number.isInteger(perSecondPerRoute) || perMinute < 0 || perSecondPerRoute < 0)
      throw new RangeError('rate budget limits must be whole numbers >= 0');
    this.current = { perMinute, perSecondPerRoute };
    this.overall.limit = perMinute;
    for (const window of this.routes.values()) window.limit = perSecondPerRoute;
    for (const waiter of this.waiters) waiter.abort();
  }

  /**
   * Requests of the last window (minute plus margin; on the busiest route, second plus margin), the unanswered ones
   * included, and callers waiting now.
   */
  usage(): RateUsage {
    const now = this.clock.now();
    let busiest = 0;
    for (const window of this.routes.values()) busiest = Math.max(busiest, window.count(now));
    return { perMinute: this.overall.count(now), perSecondPerRoute: busiest, waiting: this.waiters.size };
  }

  /** Resolves once a request on `route` fits in the budget, counted at that time (see acquireUntilAnswered). */
  async acquire(route: string, signal?: AbortSignal): Promise<void> {
    await this.take(route, signal, false);
  }

  /**
   * Resolves once a request on `route` fits in the budget, with the function to call when its answer (or its failure)
   * is in: until then it counts in every window, from then on at that time. Rejects with the signal's reason when the
   * signal aborts first (an activity being cancelled must not wait for a token).
   */
  acquireUntilAnswered(route: string, signal?: AbortSignal): Promise<() => void> {
    return this.take(route, signal, true);
  }

  private async take(route: string, signal: AbortSignal | undefined, untilAnswered: boolean): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      const routeWindow = this.routeWindow(route);
      const wait = Math.max(this.overall.waitMs(now), routeWindow.waitMs(now));
      if (wait === 0) {
        // Check and record happen in one synchronous turn, so concurrent callers cannot both take the last slot.
        this.overall.open();
        routeWindow.open();
        this.granted++;
        let done = false;
        const answered = () => {
          if (done) return;
          done = true;
          const at = this.clock.now();
          this.overall.answered(at);
          routeWindow.answered(at);
        };
        if (!untilAnswered) answered();
        return answered;
      }
      this.waited++;
      // One controller wakes the sleep: new limits abort it, and so does the caller's signal (a listener removed
      // afterwards, so a long-lived activity signal does not collect one per wait).
      const wake = new AbortController();
      const cancel = () => wake.abort(signal?.reason);
      signal?.addEventListener('abort', cancel, { once: true });
      this.waiters.add(wake);
      try {
        await this.clock.sleep(Number.isFinite(wait) ? wait : IDLE_LOOK_MS, wake.signal).catch(() => undefined);
      } finally {
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', cancel);
      }
      // Woken by new limits or slept its time: look again. The caller's own cancellation ends the wait.
      signal?.throwIfAborted();
    }
  }

  /** Counters for logs and tests: grants so far and how many times a caller had to wait. */
  stats(): { granted: number; waited: number } {
    return { granted: this.granted, waited: this.waited };
  }

  private routeWindow(route: string): SlidingWindow {
    let window = this.routes.get(route);
    if (!window) {
      // Drop idle routes now and then; the map holds route templates, so it stays small anyway.
      if (this.routes.size > 1000) for (const [key, w] of this.routes) if (w.idle) this.routes.delete(key);
      window = new SlidingWindow(this.current.perSecondPerRoute, 1_000 + this.marginMs);
      this.routes.set(route, window);
    }
    return window;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let processBudget: RateBudget | undefined;

/** The budget every client in this process shares unless given its own. */
export function sharedRateBudget(): RateBudget {
  processBudget ??= new RateBudget({
    perMinute: envNumber('NEON_RATE_PER_MINUTE'),
    perSecondPerRoute: envNumber('NEON_RATE_PER_SECOND_PER_ROUTE'),
    marginMs: envNumber('NEON_RATE_MARGIN_MS'),
  });
  return processBudget;
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  return value ? Number(value) : undefined;
}
