/**
 * The account's rate budget workflow and the workers that lease shares of it (src/worker/rate-lease.ts): the updates,
 * the query and the shapes they carry. Nothing here names the API key: the workflow ID carries a hash of the account
 * (or of the key when no account name is configured), computed on the worker.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** Requests in any sliding minute (all routes together) and per route in any sliding second. */
export type RateLimits = { perMinute: number; perSecondPerRoute: number };

/** A worker's renewal: what it enforces now, what it let through lately and what it is configured with. */
export type LeaseRequest = {
  /** One per worker process; a restarted process is a new worker. */
  workerId: string;
  /** The account's whole budget as this worker is configured (NEON_RATE_PER_MINUTE, ...). */
  budget: RateLimits;
  /** The lease whose share or fallback the worker enforces now; null when it lets nothing through. */
  applied: string | null;
  /**
   * Rises with every request the worker sends (renewals and its release). The book ignores one older than the last it
   * handled: the worker gave up on it (past its deadline) before it sent the next, so its answer was dropped.
   */
  renewal: number;
  /** The limits it enforces now (the applied lease's share or its fallback; 0 with none). */
  holding: RateLimits;
  /** Its grants within the last minute plus its margin, and on its busiest route within the last second plus it. */
  used: RateLimits;
  /** Its callers waiting for a grant now: demand its share does not meet. */
  waiting: number;
};

export const LEASE_TIMING = {
  /** How long a lease is enforced after the request that got it was sent. */
  leaseMs: 20_000,
  /** How often a worker renews; while its callers wait, every `busyRenewMs`. */
  renewMs: 5_000,
  busyRenewMs: 1_000,
  /** How long a worker whose lease lapsed unrenewed enforces the fallback before it lets nothing through. */
  fallbackMs: 60_000,
  /** Added to Neon's windows: more than a worker's own margin (100 ms by default), so its windows fit in the book's. */
  marginMs: 1_000,
} as const;

/** A share of the budget, which the worker enforces from receipt until `leaseMs` after it sent the request. */
export type Lease = {
  leaseId: string;
  share: RateLimits;
  leaseMs: number;
  /** What the worker enforces for `fallbackMs` after the lease lapsed unrenewed; then nothing until a new lease. */
  fallback: RateLimits;
  fallbackMs: number;
  /** When to renew: sooner while callers wait, so a share follows demand. */
  renewInMs: number;
};

/** A worker that stops: from now on it lets nothing through. */
export type ReleaseRequest = { workerId: string; renewal: number; used: RateLimits };

/** What the budget workflow holds, for operators and tests. */
export type AccountBudgetState = {
  budget: RateLimits;
  /** The most each worker may still have let through, or may let through, in a window that ends from now on. */
  committed: RateLimits;
  workers: { workerId: string; live: boolean; share: RateLimits | null; committed: RateLimits }[];
};

export const leaseUpdate = defineUpdate<Lease, [LeaseRequest]>('lease');
export const releaseUpdate = defineUpdate<void, [ReleaseRequest]>('release');
export const accountBudgetStateQuery = defineQuery<AccountBudgetState>('accountBudgetState');

/** The budget workflow of an account: one per account hash, whatever the task queue of the worker that starts it. */
export const accountBudgetWorkflowId = (accountHash: string): string => `neon-promote-rate-budget-${accountHash}`;
