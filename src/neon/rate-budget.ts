/**
 * Client-side rate budget, so a fleet of promotions in one worker slows down instead of collecting 429s.
 *
 * Neon allows 700 requests a minute per account and bursts of 40 a second per route. A token bucket refilled at
 * 700/min still lets a full bucket plus a minute's refill through in the first minute, so this keeps a sliding window
 * of grant times instead: at most `perMinute` grants in any 60 s and `perSecondPerRoute` per route in any 1 s.
 *
 * Neon counts a request when it arrives, not when this process granted it, and the time between the two varies (the
 * dispatcher's queue, the event loop, the network). Grants exactly at the limit therefore sometimes put one request too
 * many into a second at the server (the bench saw 41 of 40). So each window is enforced `marginMs` longer than Neon's:
 * requests granted within any window + margin number at most the limit, hence as long as grant-to-arrival delays differ
 * by less than `marginMs`, no window of Neon's length sees more than the limit arrive. With the defaults that is 40 per
 * 1.1 s per route (about 36/s) and 700 per 60.1 s.
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

/** Timestamps of recent grants, oldest first; pruned on every look. */
class SlidingWindow {
  private readonly times: number[] = [];
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds until one more grant fits (0 = now). */
  waitMs(now: number): number {
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    if (this.times.length < this.limit) return 0;
    const oldest = this.times[this.times.length - this.limit] ?? now;
    return Math.max(1, oldest + this.windowMs - now);
  }

  record(now: number): void {
    this.times.push(now);
  }

  get idle(): boolean {
    return this.times.length === 0;
  }
}

export class RateBudget {
  readonly perMinute: number;
  readonly perSecondPerRoute: number;
  readonly marginMs: number;
  private readonly overall: SlidingWindow;
  private readonly routes = new Map<string, SlidingWindow>();
  private readonly clock: NonNullable<RateBudgetOptions['clock']>;
  private granted = 0;
  private waited = 0;

  constructor(options: RateBudgetOptions = {}) {
    this.perMinute = options.perMinute ?? 700;
    this.perSecondPerRoute = options.perSecondPerRoute ?? 40;
    this.marginMs = options.marginMs ?? 100;
    if (!(this.perMinute >= 1) || !(this.perSecondPerRoute >= 1))
      throw new RangeError('rate budget limits must be >= 1');
    if (!(this.marginMs >= 0)) throw new RangeError('rate budget margin must be >= 0');
    this.overall = new SlidingWindow(this.perMinute, 60_000 + this.marginMs);
    this.clock = options.clock ?? { now: () => Date.now(), sleep };
  }

  /**
   * Resolves once a request on `route` fits in the budget and records it. Rejects with the signal's reason when the
   * signal aborts first (an activity being cancelled must not wait for a token).
   */
  async acquire(route: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      const routeWindow = this.routeWindow(route);
      const wait = Math.max(this.overall.waitMs(now), routeWindow.waitMs(now));
      if (wait === 0) {
        // Check and record happen in one synchronous turn, so concurrent callers cannot both take the last slot.
        this.overall.record(now);
        routeWindow.record(now);
        this.granted++;
        return;
      }
      this.waited++;
      await this.clock.sleep(wait, signal);
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
      window = new SlidingWindow(this.perSecondPerRoute, 1_000 + this.marginMs);
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
