/**
 * The worker's side of the account's shared rate budget (src/workflows/coordination/account-budget.ts): it leases a
 * share of the account's budget and makes the process's RateBudget enforce it, renewing every few seconds (every
 * second while callers wait for a grant, so a busy worker's share grows).
 *
 * Safe when the budget workflow cannot be reached: until its first lease the worker lets nothing through; a lease is
 * enforced until `leaseMs` after the request that got it was sent (the workflow counts from later, so it never thinks
 * a lease over while the worker still uses it); then the lease's fallback (a small part of the budget, which the
 * workflow keeps charged) for `fallbackMs`; then nothing until a renewal succeeds. Never the configured budget.
 *
 * Renewals are sequential and a late answer is dropped (the call's deadline rejects it), so the lease a renewal says
 * it applies is the only one the worker may be enforcing: what lets the workflow move shares quickly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { RateBudget, RateLimits } from '../neon';
import {
  LEASE_TIMING,
  accountBudgetWorkflowId,
  leaseUpdate,
  releaseUpdate,
  type Lease,
  type LeaseRequest,
} from '../workflows/contract/rate-lease';

/** What the keeper logs: a pino logger or anything shaped like one. */
type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export type SharedRateBudgetOptions = {
  /** The worker's own client (its namespace); the workflow runs on `taskQueue`. */
  client: Client;
  taskQueue: string;
  /** accountHashOf(env): names the account's workflow; never the key itself. */
  accountHash: string;
  /** The process's budget (sharedRateBudget()); its configured limits are the account's whole budget. */
  budget: RateBudget;
  log?: Log;
  /** Default: host, process ID and a random part. */
  workerId?: string;
};

/** How long one renewal may take before it counts as failed (its answer is then dropped). */
const RENEW_DEADLINE_MS = 5_000;
const NOTHING: RateLimits = { perMinute: 0, perSecondPerRoute: 0 };

/**
 * The hash that names an account's budget workflow. Workers with different keys of one Neon account set the same
 * NEON_RATE_ACCOUNT (any name for the account, e.g. its organization ID), since Neon limits the account; without it
 * the key names the account. Only the hash leaves the worker.
 */
export function accountHashOf(env: NodeJS.ProcessEnv): string {
  const account = env.NEON_RATE_ACCOUNT?.trim();
  const name = account ? `account:${account}` : `key:${env.NEON_API_KEY ?? ''}`;
  return createHash('sha256').update(`neon-promote rate budget\n${name}`).digest('hex').slice(0, 32);
}

type Held = { lease: Lease; expiresAt: number; fallbackUntil: number };

/** Keeps a lease on the account's budget for this process until stop(). */
export class SharedRateBudget {
  readonly workerId: string;
  private held: Held | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private boundary: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private failing = false;
  /** Requests sent so far (LeaseRequest.renewal). */
  private sent = 0;

  constructor(private readonly options: SharedRateBudgetOptions) {
    this.workerId = options.workerId ?? `${hostname().slice(0, 100)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  /** Lets nothing through until the first lease, then renews until stop(). */
  start(): void {
    this.options.budget.setLimits(NOTHING);
    this.running = this.loop();
  }

  /** Stops renewing, lets nothing through any more, and tells the workflow, so its share returns sooner. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    clearTimeout(this.boundary);
    this.held = null;
    this.options.budget.setLimits(NOTHING);
    const { client, accountHash, budget } = this.options;
    const usage = budget.usage();
    await client
      .withDeadline(Date.now() + RENEW_DEADLINE_MS, () =>
        client.workflow.getHandle(accountBudgetWorkflowId(accountHash)).executeUpdate(releaseUpdate, {
          args: [
            {
              workerId: this.workerId,
              renewal: ++this.sent,
              used: { perMinute: usage.perMinute, perSecondPerRoute: usage.perSecondPerRoute },
            },
          ],
        }),
      )
      .catch(() => undefined); // its leases lapse on their own
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let pause: number = LEASE_TIMING.busyRenewMs;
      try {
        pause = (await this.renew()).renewInMs;
        if (this.failing) this.options.log?.info({ workerId: this.workerId }, 'rate budget lease renewed again');
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.options.log?.warn(
            { workerId: this.workerId, error: err instanceof Error ? err.message : String(err) },
            'could not renew the rate budget lease; the current lease, then its fallback, stays in force',
          );
        this.failing = true;
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => (clearTimeout(timer), resolve());
      });
    }
  }

  private async renew(): Promise<Lease> {
    const { client, taskQueue, accountHash, budget } = this.options;
    this.enforce();
    const sentAt = performance.now();
    const usage = budget.usage();
    const held = this.held;
    const req: LeaseRequest = {
      workerId: this.workerId,
      budget: budget.configured,
      applied: held?.lease.leaseId ?? null,
      renewal: ++this.sent,
      holding: { perMinute: budget.perMinute, perSecondPerRoute: budget.perSecondPerRoute },
      used: { perMinute: usage.perMinute, perSecondPerRoute: usage.perSecondPerRoute },
      waiting: usage.waiting,
    };
    const lease = await client.withDeadline(Date.now() + RENEW_DEADLINE_MS, () =>
      client.workflow.executeUpdateWithStart(leaseUpdate, {
        args: [req],
        startWorkflowOperation: new WithStartWorkflowOperation('accountRateBudget', {
          workflowId: accountBudgetWorkflowId(accountHash),
          taskQueue,
          args: [{}],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: 'neon-promote: the rate budget of a Neon account, leased to its workers',
        }),
      }),
    );
    if (this.stopped) return lease;
    this.held = {
      lease,
      expiresAt: sentAt + lease.leaseMs,
      fallbackUntil: sentAt + lease.leaseMs + lease.fallbackMs,
    };
    this.enforce();
    return lease;
  }

  /** Makes the budget enforce what the held lease allows now, and looks again when that changes. */
  private enforce(): void {
    clearTimeout(this.boundary);
    const now = performance.now();
    const held = this.held;
    let limits = NOTHING;
    let next: number | null = null;
    if (held && now < held.expiresAt) [limits, next] = [held.lease.share, held.expiresAt];
    else if (held && now < held.fallbackUntil) [limits, next] = [held.lease.fallback, held.fallbackUntil];
    else this.held = null;
    const { budget } = this.options;
    if (budget.perMinute !== limits.perMinute || budget.perSecondPerRoute !== limits.perSecondPerRoute) {
      if (held && limits === held.lease.fallback)
        this.options.log?.warn({ workerId: this.workerId }, 'rate budget lease lapsed; enforcing its fallback share');
      budget.setLimits(limits);
    }
    if (next !== null && !this.stopped) {
      this.boundary = setTimeout(() => this.enforce(), Math.max(1, next - now));
      this.boundary.unref();
    }
  }
}

/** Starts keeping a lease for the process's budget (see SharedRateBudget). */
export function startSharedRateBudget(options: SharedRateBudgetOptions): SharedRateBudget {
  const shared = new SharedRateBudget(options);
  shared.start();
  return shared;
}
